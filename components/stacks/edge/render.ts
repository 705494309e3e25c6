// What the edge runs, as pure functions of its arguments (unit-tested without a swarm): nginx's
// configuration (TLS, one server per UI host, each guarded by an auth_request to oauth2-proxy
// with that UI's allowed roles) and oauth2-proxy's command line (OIDC against Keycloak, its
// secrets read from files).
//
// The flow: a request to https://<ui>.<domain>:<port>/… asks oauth2-proxy's /oauth2/auth whether
// its session cookie (set for .<domain>) carries one of the UI's roles (the token's `roles`
// claim: oauth2-proxy's groups). 202 → proxied to the UI; 401 → redirected to
// https://auth.<domain>:<port>/oauth2/start, which sends the browser to Keycloak's login page
// (id.<domain>) and back; 403 → the edge's own "not for your role" page. Keycloak's login and
// OIDC endpoints are public paths of id.<domain>; its admin console is a UI like the others.

export const EDGE_PORT = 8443;
export const AUTH_PORT = 4180;
/** oauth2-proxy's Prometheus metrics (its process, the session checks in flight). */
export const AUTH_METRICS_PORT = 44180;
/** The host names under the domain that are not UIs. */
export const AUTH_HOST = "auth";
export const RESERVED_HOSTS = [AUTH_HOST];
export const COOKIE_NAME = "_swarm_etl_edge";
const SECRETS = "/run/secrets";

export interface EdgeUiRender {
    /** Its host is <name>.<domain> unless `host` says otherwise. */
    readonly name: string;
    /** Its host name. @default - <name>.<domain> */
    readonly host?: string;
    /** Where the UI listens inside the swarm, http://<service>:<port>. */
    readonly upstream: string;
    /** The realm roles that may use it. */
    readonly roles: readonly string[];
    /** Path prefixes served without a session (Keycloak's login pages). @default - none */
    readonly publicPaths?: readonly string[];
}

export interface EdgeRender {
    /** The name of the edge's services: <name> (nginx) and <name>-auth (oauth2-proxy). */
    readonly name: string;
    readonly domain: string;
    /** The port people use (the one published). */
    readonly port: number;
    readonly uis: readonly EdgeUiRender[];
    /** The Keycloak the edge signs people in with. */
    readonly oidc: {
        /** The issuer as people reach it: https://id.<domain>:<port>/realms/<realm>. */
        readonly issuerUrl: string;
        /** The same realm inside the swarm, for the token exchange and the keys: http://keycloak:8080/realms/<realm>. */
        readonly internalRealmUrl: string;
        readonly clientId: string;
    };
    /** How long a session lives without a new login. @default - 8h */
    readonly cookieExpire?: string;
    /** How often oauth2-proxy checks a session with Keycloak (a session ended there stops working then). @default - 60s */
    readonly cookieRefresh?: string;
}

/** https://<hostname>[:<port>] (no port when it is 443). */
export const originOf = (hostname: string, port: number) => `https://${hostname}${port === 443 ? "" : `:${port}`}`;

/** https://<host>.<domain>[:<port>]. */
export const hostUrl = (host: string, domain: string, port: number) => originOf(`${host}.${domain}`, port);

/** The secret files the services mount (their Swarm secrets' targets). */
export const secretFiles = (name: string) => ({
    tls: `${SECRETS}/${name}-tls.pem`,
    clientSecret: `${SECRETS}/${name}-client-secret`,
    cookieSecret: `${SECRETS}/${name}-cookie-secret`,
});

/** The location that asks oauth2-proxy about a UI's roles (auth_request takes no arguments, so one per UI). */
function authLocation(r: EdgeRender, ui: EdgeUiRender): string {
    const groups = encodeURIComponent([...ui.roles].join(","));
    return `        location = /_edge/auth {
            internal;
            set $edge_auth http://${r.name}-auth:${AUTH_PORT};
            proxy_pass $edge_auth/oauth2/auth?allowed_groups=${groups};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Real-IP $remote_addr;
        }`;
}

const proxyHeaders = `            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_http_version 1.1;`;

function uiServer(r: EdgeRender, ui: EdgeUiRender): string {
    const host = ui.host ?? `${ui.name}.${r.domain}`;
    const login = `${hostUrl(AUTH_HOST, r.domain, r.port)}/oauth2/start?rd=https://$http_host$request_uri`;
    const signOut = `${hostUrl(AUTH_HOST, r.domain, r.port)}/oauth2/sign_out`;
    const upstream = `            set $edge_upstream ${ui.upstream};
            proxy_pass $edge_upstream;
${proxyHeaders}`;
    const publicLocations = (ui.publicPaths ?? [])
        .map(
            (p) => `        location ^~ ${p} {
${upstream}
        }`,
        )
        .join("\n");
    const forbidden = `<!doctype html><html><head><meta charset=utf-8><title>403 - not for your role</title><style>body{font-family:sans-serif;margin:4em auto;max-width:40em;color:#222}h1{font-size:1.6em}a{color:#0645ad}</style></head><body><h1>403 - ${ui.name} is not for your role</h1><p>You are signed in, but ${ui.name} is open to ${[...ui.roles].join(", ")} only.</p><p><a href=${signOut}>Sign out</a> and sign in as someone else, or ask a platform admin for the role.</p></body></html>`;
    return `    server {
        listen ${EDGE_PORT} ssl;
        server_name ${host};
        set $edge_user "";
${authLocation(r, ui)}
        location @edge_login {
            return 302 ${login};
        }
        location @edge_forbidden {
            default_type text/html;
            return 403 '${forbidden.replace(/'/g, "")}';
        }
${publicLocations}
        location / {
            auth_request /_edge/auth;
            auth_request_set $edge_user $upstream_http_x_auth_request_preferred_username;
            auth_request_set $edge_cookie $upstream_http_set_cookie;
            add_header Set-Cookie $edge_cookie;
            error_page 401 = @edge_login;
            error_page 403 = @edge_forbidden;
            proxy_set_header X-Forwarded-User $edge_user;
${upstream}
        }
    }`;
}

/** nginx.conf of the edge. */
export function renderNginxConf(r: EdgeRender): string {
    const files = secretFiles(r.name);
    const auth = `${AUTH_HOST}.${r.domain}`;
    return `# The edge (rendered by components/stacks/edge/render.ts): TLS, one server per UI, each behind oauth2-proxy.
worker_processes auto;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format edge escape=json '{"time":"$time_iso8601","host":"$host","method":"$request_method","uri":"$uri","status":$status,"user":"$edge_user","upstream_ms":"$upstream_response_time","ms":$request_time}';
    access_log /dev/stdout edge;
    client_body_temp_path /tmp/nginx-body;
    proxy_temp_path /tmp/nginx-proxy;
    fastcgi_temp_path /tmp/nginx-fastcgi;
    uwsgi_temp_path /tmp/nginx-uwsgi;
    scgi_temp_path /tmp/nginx-scgi;
    server_tokens off;
    sendfile on;
    keepalive_timeout 65;
    # The swarm's DNS, asked again every 10 s: a UI's tasks may move (dnsrr names change with them).
    resolver 127.0.0.11 valid=10s ipv6=off;
    # Keycloak's and oauth2-proxy's headers (tokens in cookies) exceed nginx's default buffers.
    proxy_buffer_size 32k;
    proxy_buffers 8 32k;
    large_client_header_buffers 8 32k;
    map $http_upgrade $connection_upgrade { default upgrade; '' close; }
    ssl_certificate ${files.tls};
    ssl_certificate_key ${files.tls};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:edge:10m;
    add_header Strict-Transport-Security "max-age=31536000" always;

    # A host the edge does not serve: nothing (and the health check, on 127.0.0.1).
    server {
        listen ${EDGE_PORT} ssl default_server;
        server_name _;
        set $edge_user "";
        location = /_edge/health { access_log off; default_type text/plain; return 200 "ok\\n"; }
        location / { return 421; }
    }

    # oauth2-proxy: the start of a login, its callback, sign-out.
    server {
        listen ${EDGE_PORT} ssl;
        server_name ${auth};
        set $edge_user "";
        location / {
            set $edge_auth http://${r.name}-auth:${AUTH_PORT};
            proxy_pass $edge_auth;
${proxyHeaders}
        }
    }

${r.uis.map((ui) => uiServer(r, ui)).join("\n\n")}
}
`;
}

/** oauth2-proxy's arguments: no secret among them (those are files). */
export function oauth2ProxyArgs(r: EdgeRender): string[] {
    const files = secretFiles(r.name);
    const internal = `${r.oidc.internalRealmUrl}/protocol/openid-connect`;
    return [
        "--provider=oidc",
        "--provider-display-name=Keycloak",
        `--client-id=${r.oidc.clientId}`,
        `--client-secret-file=${files.clientSecret}`,
        `--cookie-secret-file=${files.cookieSecret}`,
        // The browser goes to Keycloak's public URL; the proxy exchanges codes and reads keys inside the swarm.
        `--oidc-issuer-url=${r.oidc.issuerUrl}`,
        "--skip-oidc-discovery=true",
        `--login-url=${r.oidc.issuerUrl}/protocol/openid-connect/auth`,
        `--redeem-url=${internal}/token`,
        `--oidc-jwks-url=${internal}/certs`,
        `--validate-url=${internal}/userinfo`,
        // Sign-out ends the Keycloak session too, not only the edge's cookie.
        `--backend-logout-url=${internal}/logout?id_token_hint={id_token}`,
        "--scope=openid profile email",
        "--code-challenge-method=S256",
        // The realm roles (the client's `roles` claim) are the groups the edge allows by.
        "--oidc-groups-claim=roles",
        "--email-domain=*",
        "--insecure-oidc-allow-unverified-email=true",
        // People are known by their username (an email is optional in the realm).
        "--oidc-email-claim=preferred_username",
        `--http-address=0.0.0.0:${AUTH_PORT}`,
        `--metrics-address=0.0.0.0:${AUTH_METRICS_PORT}`,
        "--reverse-proxy=true",
        "--upstream=static://202",
        `--redirect-url=${hostUrl(AUTH_HOST, r.domain, r.port)}/oauth2/callback`,
        `--cookie-name=${COOKIE_NAME}`,
        `--cookie-domain=.${r.domain}`,
        `--whitelist-domain=.${r.domain}:*`,
        "--cookie-secure=true",
        "--cookie-httponly=true",
        "--cookie-samesite=lax",
        `--cookie-expire=${r.cookieExpire ?? "8h"}`,
        `--cookie-refresh=${r.cookieRefresh ?? "60s"}`,
        "--set-xauthrequest=true",
        "--skip-provider-button=true",
        "--silence-ping-logging=true",
        "--standard-logging=true",
        "--request-logging=false",
    ];
}
