// Command pulumi-language-nodejs is swarm-etl's own Node.js language host for the Pulumi engine.
//
// Why this exists: the Pulumi CLI finds the language host for `runtime: nodejs` as an executable
// called `pulumi-language-nodejs`. Upstream builds it from the Go module
// github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, but the Go module proxy
// reachable from our build machines does not serve that module at any version we need (it answers
// 403 "This module version is not available"), and its go.mod has relative replace directives
// anyway. The sdk module github.com/pulumi/pulumi/sdk/v3 *is* served, and it carries everything a
// language host needs (the gRPC protocol, rpcutil, the npm helpers, the policy-pack proxy). So
// this is a small, independent re-implementation of the parts of the upstream host that
// `pulumi up/preview/refresh/destroy`, `pulumi install`, policy packs and the Node Automation API
// use. It is built by engine/build.sh with the same version stamp as the CLI.
//
// How it works: the engine starts this binary with the engine's gRPC address as the only
// positional argument (plus optional -tracing/-v/--logtostderr flags), reads the port we print on
// stdout, and then calls the LanguageRuntime RPCs. For Run we start
// `node [nodeargs] <program dir>/node_modules/@pulumi/pulumi/cmd/run --monitor ... <entry point>`;
// the @pulumi/pulumi SDK installed in the program does the rest (ts-node, config, stack outputs).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func main() {
	var tracing string
	flag.StringVar(&tracing, "tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	// Flags older engines passed; accepted and ignored (runtime options now arrive in each request).
	flag.Bool("typescript", true, "[obsolete] use ts-node to run TypeScript")
	flag.String("root", "", "[obsolete] project root path")
	flag.String("tsconfig", "", "[obsolete] path to tsconfig.json")
	flag.String("nodeargs", "", "[obsolete] arguments for the node process")
	flag.String("packagemanager", "", "[obsolete] package manager (auto, npm, yarn, pnpm)")
	flag.Parse()

	logging.InitLogging(false, 0, false)
	cmdutil.InitTracing("pulumi-language-nodejs", "pulumi-language-nodejs", tracing)

	var engineAddress string
	if args := flag.Args(); len(args) > 0 {
		engineAddress = args[0]
	}

	// Stop serving on SIGINT, or when the engine stops answering health checks.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	stopServing := make(chan bool)
	go func() {
		<-ctx.Done()
		stop()
		close(stopServing)
	}()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			cmdutil.Exit(fmt.Errorf("could not start health check host RPC server: %w", err))
		}
	}

	host := newHost(engineAddress, tracing)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stopServing,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start language host RPC server: %w", err))
	}

	// The engine reads the port from our first line of stdout.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC stopped serving: %w", err))
	}
}

// nodeHost implements pulumirpc.LanguageRuntimeServer. RPCs we do not implement (code generation,
// Pack, Link, GetRequiredPlugins) answer Unimplemented through the embedded struct, which the
// engine handles (GetRequiredPlugins is only a fallback for GetRequiredPackages).
type nodeHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string

	// cancelled by the Cancel RPC: node processes started under it are interrupted. Cancel then
	// installs a fresh context, so a host the engine attached to (PULUMI_DEBUG_LANGUAGES) and
	// cancelled once can still run the next program.
	cancelCtx context.Context
	cancel    context.CancelFunc
}

func newHost(engineAddress, tracing string) *nodeHost {
	ctx, cancel := context.WithCancel(context.Background())
	return &nodeHost{engineAddress: engineAddress, tracing: tracing, cancelCtx: ctx, cancel: cancel}
}

// runContext is the context for a node process started now: done when the Cancel RPC arrives or
// when parent (the RPC's own context) ends. Call the returned func when the process has exited.
func (h *nodeHost) runContext(parent context.Context) (context.Context, context.CancelFunc) {
	h.mu.Lock()
	cancelled := h.cancelCtx
	h.mu.Unlock()
	ctx, cancel := context.WithCancel(parent)
	stop := context.AfterFunc(cancelled, cancel)
	return ctx, func() { stop(); cancel() }
}

func (h *nodeHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is only used when the engine attaches to an already running host
// (PULUMI_DEBUG_LANGUAGES); normally the engine address comes from the command line.
func (h *nodeHost) Handshake(ctx context.Context,
	req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	h.engineAddress = req.GetEngineAddress()
	h.mu.Unlock()

	hctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	if err := rpcutil.Healthcheck(hctx, req.GetEngineAddress(), 5*time.Minute, stop); err != nil {
		stop()
		return nil, fmt.Errorf("could not start health check of the engine: %w", err)
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the version stamped at build time (-ldflags -X .../version.Version=v3.259.0).
func (h *nodeHost) GetPluginInfo(ctx context.Context, _ *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// Cancel interrupts any program or plugin this host is running; the engine calls it on shutdown.
func (h *nodeHost) Cancel(ctx context.Context, _ *emptypb.Empty) (*emptypb.Empty, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cancel()
	h.cancelCtx, h.cancel = context.WithCancel(context.Background())
	return &emptypb.Empty{}, nil
}

func (h *nodeHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	resp := &pulumirpc.AboutResponse{Executable: nodeBin, Metadata: map[string]string{}}
	if out, err := exec.CommandContext(ctx, nodeBin, "--version").Output(); err == nil {
		resp.Version = strings.TrimSpace(string(out))
	}
	if info := req.GetInfo(); info != nil {
		if opts, err := parseOptions(info.GetOptions().AsMap()); err == nil {
			if pm, err := npm.ResolvePackageManager(opts.packageManager, info.GetProgramDirectory()); err == nil {
				resp.Metadata["packagemanager"] = pm.Name()
				if v, err := pm.Version(); err == nil {
					resp.Metadata[pm.Name()] = v.String()
				}
			}
		}
	}
	return resp, nil
}

// RuntimeOptionsPrompts is used by `pulumi new`; offer the package manager choice like upstream.
func (h *nodeHost) RuntimeOptionsPrompts(ctx context.Context,
	req *pulumirpc.RuntimeOptionsRequest,
) (*pulumirpc.RuntimeOptionsResponse, error) {
	var prompts []*pulumirpc.RuntimeOptionPrompt
	if _, set := req.GetInfo().GetOptions().AsMap()["packagemanager"]; !set {
		prompts = append(prompts, &pulumirpc.RuntimeOptionPrompt{
			Key:         "packagemanager",
			Description: "The package manager to use for installing dependencies",
			PromptType:  pulumirpc.RuntimeOptionPrompt_STRING,
			Choices:     plugin.MakeExecutablePromptChoices("npm", "pnpm", "yarn"),
			Default: &pulumirpc.RuntimeOptionPrompt_RuntimeOptionValue{
				PromptType:  pulumirpc.RuntimeOptionPrompt_STRING,
				StringValue: "npm",
			},
		})
	}
	return &pulumirpc.RuntimeOptionsResponse{Prompts: prompts}, nil
}

// Template: nothing to post-process in a freshly instantiated Node.js template.
func (h *nodeHost) Template(ctx context.Context, req *pulumirpc.TemplateRequest) (*pulumirpc.TemplateResponse, error) {
	return &pulumirpc.TemplateResponse{}, nil
}

// nodeOptions are the `runtime.options` of Pulumi.yaml for `runtime: nodejs`.
type nodeOptions struct {
	typescript     bool   // run TypeScript through ts-node (default true)
	tsconfig       string // alternative tsconfig.json path
	nodeargs       string // extra arguments for node, shell-quoted
	packageManager npm.PackageManagerType
}

func parseOptions(raw map[string]any) (nodeOptions, error) {
	opts := nodeOptions{typescript: true, packageManager: npm.AutoPackageManager}
	if v, ok := raw["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return opts, errors.New("typescript option must be a boolean")
		}
		opts.typescript = b
	}
	for key, dst := range map[string]*string{"tsconfig": &opts.tsconfig, "nodeargs": &opts.nodeargs} {
		if v, ok := raw[key]; ok {
			s, isString := v.(string)
			if !isString {
				return opts, fmt.Errorf("%s option must be a string", key)
			}
			*dst = s
		}
	}
	if v, ok := raw["packagemanager"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("packagemanager option must be a string")
		}
		switch pm := npm.PackageManagerType(s); pm {
		case npm.AutoPackageManager, npm.NpmPackageManager, npm.YarnPackageManager, npm.PnpmPackageManager,
			npm.BunPackageManager:
			opts.packageManager = pm
		default:
			return opts, fmt.Errorf("packagemanager option must be one of auto, npm, yarn, pnpm or bun, got %q", s)
		}
	}
	return opts, nil
}

// splitArgs splits a command-line fragment like a POSIX shell would for simple cases:
// whitespace separates words, single and double quotes group, backslash escapes one character.
func splitArgs(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, escaped := false, false
	var quote rune
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && quote != '\'':
			escaped, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || escaped {
		return nil, fmt.Errorf("unterminated quote or escape in nodeargs %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
