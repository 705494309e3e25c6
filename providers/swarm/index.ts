export * from "./common";
export { SwarmInit, SwarmInitArgs } from "./swarmInit";
export { SwarmJoin, SwarmJoinArgs, NodeRole } from "./swarmJoin";
export { Network, NetworkArgs } from "./network";
export { Service, ServiceArgs } from "./service";
export * from "./serviceSpec";
