/**
 * Versions of a window operator's snapshot. A restore reads every one of them: each adds fields
 * after the ones before it, so an older checkpoint restores with its open windows intact.
 */

/** Every state in the snapshot; what releases before the state store wrote, and what regrouping converts. */
export const WHOLE_FORMAT_VERSION = 1
/** Fired windows' states on disk: each window says how many and how many bytes. */
export const SPILLED_WINDOWS_FORMAT_VERSION = 2
/** Idle sessions on disk too: the session store says how many after the heap's. */
export const STORED_SESSIONS_FORMAT_VERSION = 3
/**
 * Open tumbling and hopping windows in the store too, each state as records of what changed; the
 * snapshot names the states a restore reads back.
 */
export const STORED_WINDOWS_FORMAT_VERSION = 4
/** What a snapshot is written in. */
export const FORMAT_VERSION = STORED_WINDOWS_FORMAT_VERSION
