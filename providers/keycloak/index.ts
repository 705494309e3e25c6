export { AdminEndpoint, AdminTunnel, adminClient, resolveAdminUrl } from "./admin";
export { PROVIDER_VERSION } from "./common";
export { Realm, RealmArgs, BruteForce, SslRequired, REALM_DEFAULTS, DEFAULT_PASSWORD_POLICY } from "./realm";
export { RealmRole, RealmRoleArgs } from "./role";
export { Group, GroupArgs } from "./group";
export { Client, ClientArgs, ROLES_MAPPER } from "./client";
export { User, UserArgs, UPDATE_PASSWORD } from "./user";
