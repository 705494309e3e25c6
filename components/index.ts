export * from "./cluster/swarmCluster";
export * from "./stacks/demo/demoStack";
export * from "./stacks/postgres/postgresCluster";
export * from "./stacks/postgres/backupRepository";
export * from "./stacks/scheduler/scheduler";
export * from "./stacks/spark/sparkCluster";
export * from "./stacks/etl/flightsEtl";
export * from "./stacks/identity/keycloak";
