export * from "./cluster/swarmCluster";
export * from "./stacks/demo/demoStack";
