// Run and RunPlugin: starting node on @pulumi/pulumi's entry points (see main.go for why this
// language host exists).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/contract"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

const (
	runModule        = "@pulumi/pulumi/cmd/run"             // runs a Pulumi program
	runPluginModule  = "@pulumi/pulumi/cmd/run-plugin"      // runs a provider/tool plugin written in Node
	runPolicyModule  = "@pulumi/pulumi/cmd/run-policy-pack" // runs a policy pack (kind "analyzer")
	analyzerKind     = "analyzer"
	configEnv        = "PULUMI_CONFIG"             // JSON object of config, read by @pulumi/pulumi
	configSecretsEnv = "PULUMI_CONFIG_SECRET_KEYS" // JSON array of the config keys that are secret

	// @pulumi/pulumi/cmd/run exits with 32 once it has already reported the error to the engine
	// (e.g. an exception thrown by the program); the engine must then not print anything more.
	exitAfterReportedError = 32
)

// Run executes the program with `node @pulumi/pulumi/cmd/run` and reports how it ended.
func (h *nodeHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	failed := func(format string, a ...any) (*pulumirpc.RunResponse, error) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf(format, a...)}, nil
	}
	if req.GetAttachDebugger() {
		return failed("attaching a debugger is not supported by this (swarm-etl) Node.js language host")
	}

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return failed("could not find node on the $PATH: %v", err)
	}
	info := req.GetInfo()
	programDir, entryPoint, rootDir := req.GetPwd(), req.GetProgram(), ""
	if info != nil {
		programDir, entryPoint, rootDir = info.GetProgramDirectory(), info.GetEntryPoint(), info.GetRootDirectory()
	}
	if entryPoint == "" {
		entryPoint = "."
	}
	opts, err := parseOptions(info.GetOptions().AsMap())
	if err != nil {
		return failed("%v", err)
	}
	nodeArgs, err := splitArgs(opts.nodeargs)
	if err != nil {
		return failed("%v", err)
	}

	runModulePath := os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH")
	if runModulePath == "" {
		runModulePath = runModule
	}
	runPath, err := locateModule(ctx, nodeBin, runModulePath, programDir, "pulumi install")
	if err != nil {
		return failed("%v", err)
	}

	cfg, err := configJSON(req.GetConfig())
	if err != nil {
		return failed("failed to serialize configuration: %v", err)
	}
	secretKeys, err := json.Marshal(nonNil(req.GetConfigSecretKeys()))
	if err != nil {
		return failed("failed to serialize configuration secret keys: %v", err)
	}
	env := append(os.Environ(), configEnv+"="+cfg, configSecretsEnv+"="+string(secretKeys))
	env = append(env, typescriptEnv(opts)...)

	// node [nodeargs] .../cmd/run --monitor ... [flags] <entry point> [program args]
	args := append(nodeArgs, runPath)
	flagIfSet := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flagIfSet("monitor", req.GetMonitorAddress())
	flagIfSet("engine", h.engine())
	flagIfSet("organization", req.GetOrganization())
	flagIfSet("project", req.GetProject())
	flagIfSet("root-directory", rootDir)
	flagIfSet("stack", req.GetStack())
	flagIfSet("pwd", programDir)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flagIfSet("parallel", strconv.Itoa(int(req.GetParallel())))
	flagIfSet("tracing", h.tracing)
	args = append(args, entryPoint)
	args = append(args, req.GetArgs()...)

	// Interrupt node (then kill it 5s later) if the engine calls Cancel or drops the request.
	cmdCtx, done := h.runContext(ctx)
	defer done()

	cmd := exec.CommandContext(cmdCtx, nodeBin, args...)
	cmd.Cancel = func() error { return interruptOrKill(cmd) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = env
	// Node may switch its stdio to non-blocking mode; give it pipes (Go copies them to our stdio)
	// rather than our own file descriptors. Wrapping hides the *os.File from exec.
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}
	logging.V(5).Infof("Language host launching process: %s %s", nodeBin, strings.Join(args, " "))

	err = cmd.Run()
	// Make sure everything node printed reaches the engine before we answer.
	contract.IgnoreError(os.Stdout.Sync())
	contract.IgnoreError(os.Stderr.Sync())
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return failed("Problem executing program (could not run language executor): %v", err)
	}
	switch code := exitErr.ExitCode(); code {
	case exitAfterReportedError:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case 0:
		return failed("Program exited unexpectedly: %v", exitErr)
	default:
		return failed("Program exited with non-zero exit code: %d", code)
	}
}

// RunPlugin runs a plugin written in Node: a policy pack (kind "analyzer", via run-policy-pack)
// or a provider/tool plugin (via run-plugin). Output is streamed back to the engine.
func (h *nodeHost) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	ctx := server.Context()
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	programDir := req.GetInfo().GetProgramDirectory()
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	nodeArgs, err := splitArgs(opts.nodeargs)
	if err != nil {
		return err
	}
	env := req.GetEnv()
	if len(env) == 0 {
		env = os.Environ()
	}
	env = append(env, typescriptEnv(opts)...)

	isPolicy := req.GetKind() == analyzerKind
	module := runPolicyModule
	if !isPolicy {
		if module = os.Getenv("PULUMI_LANGUAGE_NODEJS_RUN_PATH"); module == "" {
			module = runPluginModule
		}
	}
	modulePath, err := locateModule(ctx, nodeBin, module, programDir, "npm install in "+programDir)
	if err != nil {
		return err
	}
	args := append(nodeArgs, modulePath)
	if isPolicy {
		// run-policy-pack wants <engine address> <policy pack dir>.
		args = append(append(args, req.GetArgs()...), programDir)
	} else {
		args = append(append(args, programDir), req.GetArgs()...)
	}

	// A policy pack needs the stack's configuration in its environment, which the engine only sends
	// through the Analyzer RPC ConfigureStack. The sdk's PolicyProxy answers the engine as the
	// analyzer, collects that configuration, and then forwards every call to the real policy pack.
	var proxy *sdk.PolicyProxy
	if isPolicy {
		if proxy, stdout, err = sdk.NewPolicyProxy(ctx, stdout); err != nil {
			return fmt.Errorf("could not start policy pack proxy: %w", err)
		}
		stack, err := proxy.AwaitConfiguration(ctx)
		if err != nil {
			return fmt.Errorf("could not get stack configuration: %w", err)
		}
		if stack != nil {
			env = append(env, "PULUMI_NODEJS_DRY_RUN="+strconv.FormatBool(stack.GetDryRun()))
			for k, v := range map[string]string{
				"PULUMI_NODEJS_ORGANIZATION": stack.GetOrganization(),
				"PULUMI_NODEJS_PROJECT":      stack.GetProject(),
				"PULUMI_NODEJS_STACK":        stack.GetStack(),
			} {
				if v != "" {
					env = append(env, k+"="+v)
				}
			}
			if stack.GetConfig() != nil {
				b, err := json.Marshal(stack.GetConfig())
				if err != nil {
					return fmt.Errorf("could not marshal stack configuration: %w", err)
				}
				env = append(env, configEnv+"="+string(b))
			}
		}
	}

	cmdCtx, done := h.runContext(ctx)
	defer done()
	cmd := exec.CommandContext(cmdCtx, nodeBin, args...)
	cmd.Cancel = func() error { return interruptOrKill(cmd) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = req.GetPwd()
	if isPolicy {
		cmd.Dir = programDir // policy packs always ran from their own directory
	}
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = stdout, stderr
	logging.V(5).Infof("Language host launching plugin: %s %s", nodeBin, strings.Join(args, " "))

	if err := cmd.Start(); err != nil {
		return fmt.Errorf("Problem executing plugin program (could not run language executor): %w", err)
	}
	if proxy != nil {
		err = proxy.Attach(ctx, cmd) // waits for the policy pack to exit
	} else {
		err = cmd.Wait()
	}
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("Program exited with non-zero exit code: %d", exitErr.ExitCode())
		}
		return err
	}
	return closer.Close()
}

// locateModule resolves a module (e.g. @pulumi/pulumi/cmd/run) the way node would from dir, so the
// program's own copy of @pulumi/pulumi is used, also when node_modules sits in a parent directory.
func locateModule(ctx context.Context, nodeBin, module, dir, installHint string) (string, error) {
	script := fmt.Sprintf(`try { console.log(require.resolve(%q)); } catch (e) { `+
		`if (e.code === "MODULE_NOT_FOUND") { console.error("It looks like the Pulumi SDK has not been `+
		`installed. Have you run %s?"); } else { console.error(e.message); } process.exit(1); }`,
		module, installHint)
	cmd := exec.CommandContext(ctx, nodeBin, "-e", script)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && len(exitErr.Stderr) > 0 {
			return "", errors.New(strings.TrimSpace(string(exitErr.Stderr)))
		}
		return "", fmt.Errorf("could not locate %s from %s: %w", module, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// configJSON turns the engine's config ("ns:key" -> value) into the JSON object @pulumi/pulumi
// reads from PULUMI_CONFIG. Keys are written in the old "ns:config:key" form, which every
// @pulumi/pulumi version understands (upstream does the same).
func configJSON(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		key, err := config.ParseKey(k)
		if err != nil {
			return "", err
		}
		out[key.Namespace()+":config:"+key.Name()] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

func typescriptEnv(opts nodeOptions) []string {
	var env []string
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env
}

func interruptOrKill(cmd *exec.Cmd) error {
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
