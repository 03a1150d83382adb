/** Server defaults the CLI shows in its help without loading the server. */
export const DEFAULT_MAX_CONNECTIONS = 256;
