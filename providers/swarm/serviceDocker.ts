// Docker Engine API shapes of a service (API 1.41), as much of them as the Service resource
// renders and reads. Durations are nanoseconds; Go's `omitempty` leaves zero values out.

export interface FileTarget {
    Name: string;
    UID: string;
    GID: string;
    Mode: number;
}

export interface DockerMount {
    Type: "volume" | "bind" | "tmpfs";
    Source?: string;
    Target: string;
    ReadOnly?: boolean;
    VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; DriverConfig?: { Name?: string; Options?: Record<string, string> } };
    BindOptions?: { Propagation?: string };
    TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface DockerUpdateConfig {
    Parallelism?: number;
    Delay?: number;
    FailureAction?: string;
    Monitor?: number;
    MaxFailureRatio?: number;
    Order?: string;
}

export interface DockerResources {
    NanoCPUs?: number;
    MemoryBytes?: number;
}

export interface DockerTaskTemplate {
    ContainerSpec: {
        Image: string;
        Command?: string[];
        Args?: string[];
        Env?: string[];
        User?: string;
        Dir?: string;
        Mounts?: DockerMount[];
        StopGracePeriod?: number;
        DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
        CapabilityAdd?: string[];
        Sysctls?: Record<string, string>;
        Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number };
        Secrets?: { SecretID: string; SecretName: string; File: FileTarget }[];
        Configs?: { ConfigID: string; ConfigName: string; File: FileTarget }[];
    };
    Resources?: { Limits?: DockerResources; Reservations?: DockerResources };
    RestartPolicy?: { Condition?: string; Delay?: number; MaxAttempts?: number; Window?: number };
    Placement?: { Constraints?: string[]; Preferences?: { Spread: { SpreadDescriptor: string } }[]; MaxReplicas?: number };
    Networks?: { Target: string; Aliases?: string[] }[];
    LogDriver?: { Name: string; Options?: Record<string, string> };
    ForceUpdate?: number;
}

/** Docker's ServiceSpec. */
export interface DockerServiceSpec {
    Name: string;
    Labels?: Record<string, string>;
    TaskTemplate: DockerTaskTemplate;
    Mode: {
        Replicated?: { Replicas: number };
        Global?: Record<string, never>;
        ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
        GlobalJob?: Record<string, never>;
    };
    UpdateConfig?: DockerUpdateConfig;
    RollbackConfig?: DockerUpdateConfig;
    EndpointSpec?: {
        Mode?: "vip" | "dnsrr";
        Ports?: { Protocol?: string; TargetPort: number; PublishedPort?: number; PublishMode?: "ingress" | "host" }[];
    };
}
