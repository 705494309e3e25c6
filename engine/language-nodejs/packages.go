// Dependencies: which Pulumi plugins a program needs (read from node_modules), installing npm
// dependencies, and listing them for `pulumi about` (see main.go for why this host exists).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/blang/semver"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/pulumi/pulumi/sdk/v3/nodejs/npm"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// GetRequiredPackages lists the resource plugins the program's npm dependencies declare: every
// package.json under node_modules whose "pulumi" section says {"resource": true} (for example
// @pulumi/command -> plugin "command" at the package's version). The engine uses the list to
// pre-install plugins (skipped with PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION) and to pick
// default provider versions. Problems reading single packages are logged, not fatal, like upstream.
func (h *nodeHost) GetRequiredPackages(ctx context.Context,
	req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	w := &packageWalker{visited: map[string]bool{}, sdkVersions: map[string]semver.Version{}}
	w.walk(req.GetInfo().GetProgramDirectory(), false)
	for _, err := range w.errs {
		logging.V(3).Infof("while discovering plugins: %v", err)
	}
	w.warnIncompatibleSDKs()
	return &pulumirpc.GetRequiredPackagesResponse{Packages: w.packages}, nil
}

type packageWalker struct {
	visited     map[string]bool
	packages    []*pulumirpc.PackageDependency
	sdkVersions map[string]semver.Version // path of each @pulumi/pulumi package.json -> version
	errs        []error
}

// walk visits dir recursively; package.json files only count inside a node_modules tree.
func (w *packageWalker) walk(dir string, inNodeModules bool) {
	dir, err := filepath.Abs(dir)
	if err != nil || w.visited[dir] {
		return
	}
	w.visited[dir] = true

	entries, err := os.ReadDir(dir)
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	below := inNodeModules || filepath.Base(dir) == "node_modules"
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 { // follow links, but remember the real path (cycles)
			real, err := filepath.EvalSymlinks(path)
			if err != nil {
				w.errs = append(w.errs, err)
				continue
			}
			st, err := os.Stat(real)
			if err != nil {
				w.errs = append(w.errs, err)
				continue
			}
			path, isDir = real, st.IsDir()
		}
		switch {
		case isDir:
			// A nested policy pack's plugins are not the program's dependencies.
			if pack, err := workspace.DetectPolicyPackPathAt(path); err != nil || pack != "" {
				continue
			}
			w.walk(path, below)
		case inNodeModules && e.Name() == "package.json":
			w.readPackageJSON(path)
		}
	}
}

type packageJSON struct {
	Name            string                  `json:"name"`
	Version         string                  `json:"version"`
	Pulumi          plugin.PulumiPluginJSON `json:"pulumi"`
	Dependencies    map[string]string       `json:"dependencies"`
	DevDependencies map[string]string       `json:"devDependencies"`
}

func (w *packageWalker) readPackageJSON(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		w.errs = append(w.errs, err)
		return
	}
	var pkg packageJSON
	if err := json.Unmarshal(b, &pkg); err != nil {
		w.errs = append(w.errs, fmt.Errorf("unmarshaling %s: %w", path, err))
		return
	}
	if pkg.Name == "@pulumi/pulumi" {
		if v, err := semver.Parse(pkg.Version); err == nil {
			w.sdkVersions[path] = v
		}
	}
	if !pkg.Pulumi.Resource {
		return
	}

	// Plugin name: "pulumi.name", else the package name without the @pulumi/ scope. Third-party
	// packages must say "pulumi.name".
	name := pkg.Pulumi.Name
	if name == "" {
		if !strings.HasPrefix(pkg.Name, "@pulumi/") {
			w.errs = append(w.errs, fmt.Errorf("%s: third-party plugin package %q has no \"pulumi.name\"", path, pkg.Name))
			return
		}
		name = strings.TrimPrefix(pkg.Name, "@pulumi/")
	}
	version := pkg.Pulumi.Version
	if version == "" {
		version = pkg.Version
	}
	if version == "" {
		w.errs = append(w.errs, fmt.Errorf("%s: missing \"version\"", path))
		return
	}
	if !strings.HasPrefix(version, "v") {
		version = "v" + version
	}
	dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: version, Server: pkg.Pulumi.Server}
	if p := pkg.Pulumi.Parameterization; p != nil {
		dep.Parameterization = &pulumirpc.PackageParameterization{Name: p.Name, Version: p.Version, Value: p.Value}
	}
	w.packages = append(w.packages, dep)
}

// warnIncompatibleSDKs prints a warning when node_modules holds @pulumi/pulumi copies of different
// major versions (they cannot share the engine connection).
func (w *packageWalker) warnIncompatibleSDKs() {
	var firstPath string
	var first semver.Version
	for path, v := range w.sdkVersions {
		if firstPath == "" {
			firstPath, first = path, v
			continue
		}
		if v.Major != first.Major {
			fmt.Fprintf(os.Stderr, "Found incompatible versions of @pulumi/pulumi. Differing major versions are "+
				"not supported.\n  Version %s referenced at %s\n  Version %s referenced at %s\n",
				first, firstPath, v, path)
			return
		}
	}
}

// InstallDependencies runs the package manager (npm unless runtime.options.packagemanager or a lock
// file says otherwise) in the program's npm workspace root, streaming its output to the engine.
func (h *nodeHost) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	closer, stdout, stderr, err := rpcutil.MakeInstallDependenciesStreams(server, req.GetIsTerminal())
	if err != nil {
		return err
	}
	defer closer.Close()

	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetDirectory()
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return fmt.Errorf("failed to parse options: %w", err)
	}
	fmt.Fprintf(stdout, "Installing dependencies...\n\n")
	root, err := npm.FindWorkspaceRoot(dir)
	switch {
	case errors.Is(err, npm.ErrNotInWorkspace):
		root = dir
	case err != nil:
		return fmt.Errorf("failure while trying to find workspace root: %w", err)
	default:
		fmt.Fprintf(stdout, "Detected workspace root at %s\n", root)
	}
	if _, err := npm.Install(server.Context(), opts.packageManager, root, false, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Finished installing dependencies\n\n")
	return closer.Close()
}

// GetProgramDependencies lists the npm packages (from the lock file) for `pulumi about`.
func (h *nodeHost) GetProgramDependencies(ctx context.Context,
	req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	if dir == "" {
		dir = req.GetPwd()
	}
	opts, err := parseOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return nil, err
	}
	pm, err := npm.ResolvePackageManager(opts.packageManager, dir)
	if err != nil {
		return nil, err
	}
	deps, err := pm.ListPackages(ctx, dir, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for _, d := range deps {
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: d.Name, Version: d.Version})
	}
	return resp, nil
}
