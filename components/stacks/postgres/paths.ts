// Paths and ids inside the data tier's images, shared by the renderers (render.ts, backup.ts).
export const PG_UID = "999";
export const DATA_DIR = "/var/lib/postgresql/data";
export const SECRETS_DIR = "/run/secrets";
