export { type AdminEndpoint, type AdminTunnel, adminClient, resolveAdminUrl } from "./admin";
export { PROVIDER_VERSION } from "./common";
export { Realm, type RealmArgs, type BruteForce, type SslRequired, REALM_DEFAULTS, DEFAULT_PASSWORD_POLICY } from "./realm";
export { RealmRole, type RealmRoleArgs } from "./role";
export { Group, type GroupArgs } from "./group";
export { Client, type ClientArgs, ROLES_MAPPER } from "./client";
export { User, type UserArgs, UPDATE_PASSWORD } from "./user";
