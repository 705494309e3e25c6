// DemoStack: the first service stack — an overlay network and a replicated web service
// (busybox httpd). It proves the Swarm provider end to end before the data platform lands.
import * as pulumi from "@pulumi/pulumi";
import { HostConnection, Network, Service } from "../../../providers/swarm";

export interface DemoStackArgs {
    /** A manager of the swarm (through the bastion). */
    readonly connection: HostConnection;
    /** SSH private key (secret). */
    readonly privateKey: pulumi.Input<string>;
    /** An image that provides busybox `httpd`. */
    readonly image: pulumi.Input<string>;
    /** @default - 2 */
    readonly replicas?: pulumi.Input<number>;
    /** vip needs IPVS; the lab uses dnsrr. @default - vip */
    readonly endpointMode?: "vip" | "dnsrr";
    /** ingress needs the routing mesh; the lab uses host. @default - ingress */
    readonly publishMode?: "ingress" | "host";
    /** Encrypt the overlay network. @default - true */
    readonly encrypted?: boolean;
    /** Port the web service is published on. @default - 8080 */
    readonly port?: number;
}

export class DemoStack extends pulumi.ComponentResource {
    public readonly network: Network;
    public readonly web: Service;
    public readonly networkName: pulumi.Output<string>;
    public readonly serviceName: string;

    constructor(name: string, args: DemoStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("swarm:stacks:Demo", name, {}, opts);
        const conn = { connection: args.connection, privateKey: pulumi.secret(args.privateKey) };
        const port = args.port ?? 8080;
        // Children wait for what the stack waits for (the swarm's members).
        const childOpts = { parent: this, dependsOn: opts?.dependsOn };

        this.network = new Network(`${name}-net`, { ...conn, name: `${name}-net`, encrypted: args.encrypted ?? true, labels: { "swarm-etl.stack": name } }, childOpts);
        this.serviceName = `${name}-web`;
        this.web = new Service(
            `${name}-web`,
            {
                ...conn,
                name: this.serviceName,
                image: args.image,
                replicas: args.replicas ?? 2,
                // httpd as PID 1 ignores SIGTERM, so every stop (update, scale in, drain, destroy)
                // waited out Swarm's 10 s grace period; the shell exits on it at once.
                command: ["sh", "-c", `trap 'exit 0' TERM; httpd -f -p ${port} -h /etc & wait`],
                labels: { "swarm-etl.stack": name },
                networks: [this.network.networkId],
                endpointMode: args.endpointMode ?? "vip",
                ports: [{ target: port, published: port, protocol: "tcp", mode: args.publishMode ?? "ingress" }],
            },
            childOpts,
        );
        this.networkName = this.network.name;
        this.registerOutputs({ networkName: this.networkName, serviceName: this.serviceName });
    }
}
