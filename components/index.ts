export * from "./cluster/swarmCluster";
export * from "./stacks/demo/demoStack";
export * from "./stacks/postgres/postgresCluster";
