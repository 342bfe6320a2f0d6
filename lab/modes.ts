/** The lab's cluster modes, apart from the state file code so that `ctl`'s help loads only this. */
export type LabMode = 'nat' | 'tun' | 'dr';
export const LAB_MODES: readonly LabMode[] = ['nat', 'tun', 'dr'];
