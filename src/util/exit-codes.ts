/**
 * The exit codes of every avscene command (names from sysexits.h). systemd/avscene.service relies on them:
 * RestartPreventExitStatus=78, because a wrong configuration or a broken model bundle is not mended by restarting.
 */

/** Done as asked: a file source ended, or a clean stop on SIGTERM/SIGINT. */
export const EXIT_OK = 0;
/** A failure a restart may cure (the inference worker died, capture broke, shutdown overran): systemd restarts. */
export const EXIT_FAILURE = 1;
/** EX_USAGE: a wrong command line; the message says what is allowed. */
export const EX_USAGE = 64;
/** EX_CONFIG: an invalid configuration, state directory or model bundle; the message names the key or file and the fix. */
export const EX_CONFIG = 78;
