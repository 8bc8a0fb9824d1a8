using System.CommandLine;
using System.Security;
using MedDistill.Cli.Slurm;
using MedDistill.Data.Preprocessing;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Models;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill pipeline prepare|plan</c>: the steps the MSBuild graph (<c>build/pipeline.proj</c>) calls around the
/// runs. <c>prepare</c> builds the profile's slice cache; <c>plan</c> maps every table cell to a run spec, writes one
/// spec file and one MSBuild project per run (rewritten only when their content changes, so MSBuild's timestamps stay
/// meaningful), or with <c>--dry-run</c> lists what would run and why.
/// </summary>
public static class PipelineCommand
{
    public static Command Create()
    {
        var command = new Command("pipeline", "Steps of the paper-reproduction graph (build/pipeline.proj): prepare the data, plan the runs; submit them to Slurm");
        command.Subcommands.Add(Fetch());
        command.Subcommands.Add(Graph());
        command.Subcommands.Add(Prepare());
        command.Subcommands.Add(Plan());
        command.Subcommands.Add(SlurmCommands.Submit());
        command.Subcommands.Add(SlurmCommands.Status());
        return command;
    }

    /// <summary>The paper of a pipeline step; the graph passes it (build/pipeline.proj's Paper property).</summary>
    internal static Option<string> PaperOption() =>
        new("--paper") { Description = $"Paper: {string.Join(", ", PaperRegistry.Ids)}", DefaultValueFactory = _ => PaperRegistry.All[0].Id };

    private static Option<string?> ProfileOption() =>
        new("--profile") { Description = "A profile of the paper (meddistill papers lists them; default: its first, the built-in data's)" };

    private static (IPaper Paper, ExperimentProfile Profile) Resolve(ParseResult parse, Option<string> paper, Option<string?> profile)
    {
        var p = PaperRegistry.Get(parse.GetValue(paper)!);
        return (p, parse.GetValue(profile) is { } name ? p.Profile(name) : p.Profiles[0]);
    }

    private static Command Fetch()
    {
        var (paper, profile) = (PaperOption(), ProfileOption());
        var dataDir = DataCommand.DataDirOption();
        var command = new Command("fetch", "Make the profile's raw data present: generate the built-in phantom, or download and extract the real archives")
        {
            paper, profile, dataDir,
        };
        command.SetAction(parse =>
        {
            var (pp, p) = Resolve(parse, paper, profile);
            var extra = parse.GetValue(dataDir) is { } d ? new[] { "--data-dir", d } : [];
            // The paper names the data commands; running them through the same command tree keeps one code path.
            foreach (var args in pp.DataCommands(p))
            {
                Console.WriteLine($"meddistill {string.Join(" ", args)}");
                int code = CliHost.Run(CliApp.CreateRoot(), [.. args, .. extra]);
                if (code != CliHost.ExitOk) return code;
            }
            return CliHost.ExitOk;
        });
        return command;
    }

    /// <summary>
    /// <c>pipeline graph --out DIR PLAN...</c>: one progress manifest for several plans (the main job's papers), so every
    /// run of every paper prints one line for the whole job: its runs in the plans' order, started now.
    /// </summary>
    private static Command Graph()
    {
        var plans = new Argument<string[]>("plans") { Description = "Plan folders (each with its graph.json)", Arity = ArgumentArity.OneOrMore };
        var output = new Option<string>("--out") { Description = "Folder for the combined graph.json", Required = true };
        var jobs = new Option<int>("--jobs") { Description = "Parallel runs (for the estimate)", DefaultValueFactory = _ => 1 };
        var command = new Command("graph", "Combine plans' progress manifests into one, for a job that runs several graphs") { plans, output, jobs };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var runs = new List<GraphRun>();
            foreach (var dir in parse.GetValue(plans)!)
            {
                var manifest = GraphManifest.TryRead(dir) ?? throw new ArgumentException($"{Path.Combine(dir, GraphManifest.FileName)}: no plan's graph.json (run pipeline plan first)");
                runs.AddRange(manifest.Runs.Where(r => runs.All(x => x.Id != r.Id)));
            }
            var folder = Path.GetFullPath(parse.GetValue(output)!);
            Directory.CreateDirectory(folder);
            new GraphManifest(DateTime.UtcNow, Math.Max(1, parse.GetValue(jobs)), runs).Write(folder);
            Console.WriteLine($"graph: {runs.Count} runs of {parse.GetValue(plans)!.Length} plans in {Path.Combine(folder, GraphManifest.FileName)}");
            return CliHost.ExitOk;
        }));
        return command;
    }

    private static Command Prepare()
    {
        var (paper, profile) = (PaperOption(), ProfileOption());
        var dataDir = DataCommand.DataDirOption();
        var command = new Command("prepare", "Build (or bring up to date) the profile's preprocessed slice cache") { paper, profile, dataDir };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var (pp, p) = Resolve(parse, paper, profile);
            Console.WriteLine(pp.Prepare(p, DataCommand.ResolveDataDir(parse.GetValue(dataDir)), new PreprocessCommand.LineProgress()));
            return CliHost.ExitOk;
        }));
        return command;
    }

    /// <summary>
    /// <c>--seeds N</c> and <c>--seed-rows</c>, shared by <c>pipeline plan</c> and <c>tables</c> (both must see the same
    /// extra runs). The separator of rows is <c>|</c>: commas and semicolons split MSBuild's <c>-p:</c> values.
    /// </summary>
    public static (Option<int> Seeds, Option<string?> Rows) SeedOptions() =>
        (new Option<int>("--seeds") { Description = "Run seeds per chosen cell (1 = only the tables' seed); the extra runs use seed+1..seed+N-1", DefaultValueFactory = _ => 1 },
         new Option<string?>("--seed-rows") { Description = "Cells repeated by --seeds, in the paper's syntax (default: the paper's choice; Affinity-KD: enet = ENet w/o and w/ KD, students, all, or row labels separated by |)" });

    private static Command Plan()
    {
        var (paper, profile) = (PaperOption(), ProfileOption());
        var tables = new Option<string?>("--tables") { Description = "Comma-separated run tables or studies of the paper (default: its run tables)" };
        var full = new Option<bool>("--full") { Description = "With sensitivity: every variant of the study, not only the default ones" };
        var graphDir = new Option<string?>("--graph-dir") { Description = "Folder whose graph.json the runs report progress against (default: the plan folder; the main job passes one shared by every paper)" };
        var output = new Option<string?>("--out") { Description = "Folder for the spec files and run projects (default build/obj/<profile>)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List every run with what would happen to it and why; write nothing" };
        var runsDir = new Option<string?>("--runs-dir") { Description = $"Runs folder (default: ${RunStore.EnvironmentVariable}, else runs/ at the repository root)" };
        var dataDir = DataCommand.DataDirOption();
        var device = new Option<string?>("--device") { Description = "Device for every run (cuda:N round-robin over --gpus when set)" };
        var gpus = new Option<int>("--gpus") { Description = "Spread runs over cuda:0..N-1 (one GPU per parallel worker)", DefaultValueFactory = _ => 0 };
        var jobs = new Option<int>("--jobs") { Description = "Parallel runs of the graph (for its progress estimate)", DefaultValueFactory = _ => 1 };
        var (seeds, seedRows) = SeedOptions();
        var command = new Command("plan", "Map every table cell to a run; write the runs' specs and MSBuild projects, or list them (--dry-run)")
        {
            paper, profile, tables, output, dryRun, graphDir, runsDir, dataDir, device, gpus, jobs, full, seeds, seedRows,
        };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var (pp, p) = Resolve(parse, paper, profile);
            var wanted = parse.GetValue(tables)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [.. pp.RunTables];
            var repo = RunCommands.RepositoryRoot();
            var store = new RunStore(RunStore.Resolve(parse.GetValue(runsDir), repo));
            var data = DataCommand.ResolveDataDir(parse.GetValue(dataDir));
            var plan = pp.Plan(new PlanRequest(p, ModelRegistry.Names)
            {
                Tables = wanted, Full = parse.GetValue(full), Seeds = parse.GetValue(seeds), SeedRows = parse.GetValue(seedRows),
            });
            if (parse.GetValue(dryRun))
            {
                DryRun(pp, p, plan, store, data);
                return CliHost.ExitOk;
            }
            var folder = Path.GetFullPath(parse.GetValue(output) ?? Path.Combine(repo, "build", "obj", pp.Id, p.Name));
            var progressDir = parse.GetValue(graphDir) is { } g ? Path.GetFullPath(g) : folder;
            var runArgs = Write(plan, p, folder, progressDir, store.Root, data, parse.GetValue(device), parse.GetValue(gpus), Math.Max(1, parse.GetValue(jobs)));
            // The table step as the graph's Tables target runs it: all run tables (and the report), or each one asked for.
            var seedArgs = new List<string> { "--seeds", parse.GetValue(seeds).ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (parse.GetValue(seedRows) is { } rows) seedArgs.AddRange(["--seed-rows", rows]);
            if (parse.GetValue(full)) seedArgs.Add("--full");
            IReadOnlyList<string> tableNames = parse.GetValue(tables) is null ? ["all"] : wanted;
            string[] TableArgs(string t) => ["tables", pp.Id, t, "--profile", p.Name, "--runs-dir", store.Root, "--data-dir", Path.GetFullPath(data), .. seedArgs];
            new PlanFile
            {
                Paper = pp.Id, Profile = p.Name, RunsDir = store.Root, DataDir = Path.GetFullPath(data), Runs = runArgs,
                Tables = tableNames.Select(TableArgs).ToList(),
            }.Write(folder);
            int teachers = plan.Count(r => r.TeacherKey is null && r.Key.StartsWith("teacher/", StringComparison.Ordinal));
            int finished = plan.Count(r => store.Folder(r.Id).IsFinished);
            Console.WriteLine($"plan {pp.Id} {p.Name} ({string.Join(",", wanted)}): {plan.Count} runs ({teachers} teachers), {finished} finished; projects in {folder}");
            return CliHost.ExitOk;
        }));
        return command;
    }

    private static void DryRun(IPaper paper, ExperimentProfile p, IReadOnlyList<PlannedRun> plan, RunStore store, string data)
    {
        var cache = Path.Combine(data, "cache", p.Cache);
        var index = CacheIndex.TryRead(cache);
        var recipeHash = paper.RecipeHash(p);
        Console.WriteLine(index is null ? $"prepare: would build the cache {cache} ({p.CacheSize}×{p.CacheSize}): it does not exist"
            : index.RecipeHash != recipeHash ? $"prepare: would rebuild the cache {cache}: it was made with another recipe"
            : $"prepare: cache {cache} exists ({index.Cases.Count} cases); kept unless its sources changed");
        int run = 0, resume = 0, skip = 0;
        foreach (var r in plan)
        {
            var folder = store.Folder(r.Id);
            string what;
            if (folder.IsFinished) { what = "skip    finished"; skip++; }
            else if (!File.Exists(folder.SpecPath)) { what = "run     never started"; run++; }
            else
            {
                var state = folder.ReadState();
                if (state.Status == RunStatus.Failed) { what = $"run     failed before: {state.Error}"; run++; }
                else if (File.Exists(folder.LastCheckpointPath)) { what = $"resume  stopped at step {state.Step}/{state.TotalSteps}"; resume++; }
                else { what = "run     started but has no checkpoint yet"; run++; }
            }
            var needs = r.TeacherKey is null ? "" : $" (after teacher {plan.First(t => t.Key == r.TeacherKey).Id})";
            Console.WriteLine($"{what,-44} {r.Id}  {r.Key}{needs}");
        }
        Console.WriteLine($"dry run: {plan.Count} runs: {run} to run, {resume} to resume, {skip} finished; then the tables of {paper.Id}, profile {p.Name}");
    }

    /// <returns>Each run's CLI arguments and environment, for plan.json.</returns>
    private static List<PlanFileRun> Write(IReadOnlyList<PlannedRun> plan, ExperimentProfile p, string folder, string progressDir, string runs, string data, string? device, int gpus, int jobs)
    {
        var planned = new List<PlanFileRun>();
        plan = GraphSchedule.Order(plan);
        var specs = Path.Combine(folder, "specs");
        var projects = Path.Combine(folder, "runs");
        Directory.CreateDirectory(specs);
        Directory.CreateDirectory(projects);
        var keep = new HashSet<string>(StringComparer.Ordinal);
        var cli = Path.Combine(AppContext.BaseDirectory, "meddistill.dll");
        int index = 0;
        foreach (var r in plan)
        {
            var spec = Path.Combine(specs, r.Id + ".json");
            WriteIfChanged(spec, r.Spec.ToJson());
            var stage = r.TeacherKey is null && r.Key.StartsWith("teacher/", StringComparison.Ordinal) ? "teacher" : "student";
            var project = Path.Combine(projects, $"{stage}-{r.Id}.proj");
            keep.Add(project);
            var runDevice = gpus > 0 ? $"cuda:{index++ % gpus}" : device;
            var args = new List<string> { r.Spec.Kind, Quote(spec), "--quiet", "--runs-dir", Quote(runs), "--data-dir", Quote(data), "--graph", Quote(progressDir) };
            if (runDevice is not null) args.AddRange(["--device", runDevice]);
            if (p.ThreadsPerRun > 0) args.AddRange(["--threads", p.ThreadsPerRun.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            var marker = Path.Combine(runs, r.Id, RunFolder.FinishedMarker);
            // Debian's OpenBLAS starts its own threads whatever libtorch's count is; with parallel runs that
            // oversubscribes the cores (an ENet step took twice as long). One BLAS thread per run gives identical results.
            var environment = p.ThreadsPerRun > 0 ? $" EnvironmentVariables=\"OPENBLAS_NUM_THREADS={p.ThreadsPerRun}\"" : "";
            planned.Add(new PlanFileRun(r.Id, r.Key, stage, r.TeacherKey is { } tkey ? plan.First(t => t.Key == tkey).Id : null,
                spec, [.. args.Select(Unquote)],
                p.ThreadsPerRun > 0 ? new Dictionary<string, string> { ["OPENBLAS_NUM_THREADS"] = p.ThreadsPerRun.ToString(System.Globalization.CultureInfo.InvariantCulture) } : new Dictionary<string, string>()));
            WriteIfChanged(project, $"""
                <Project DefaultTargets="Run">
                  <!-- Generated by `meddistill pipeline plan` ({SecurityElement.Escape(r.Key)}); rewritten only when it changes. -->
                  <Target Name="Run" Inputs="{SecurityElement.Escape(spec)}" Outputs="{SecurityElement.Escape(marker)}">
                    <Message Importance="high" Text="{SecurityElement.Escape($"{stage} {r.Key} ({r.Id})")}" />
                    <Exec Command="{SecurityElement.Escape($"dotnet {Quote(cli)} {string.Join(" ", args)}")}" StandardErrorImportance="high"{environment} />
                  </Target>
                </Project>

                """);
        }
        foreach (var stale in Directory.EnumerateFiles(projects, "*.proj"))
            if (!keep.Contains(stale)) File.Delete(stale);
        // The graph's run list in scheduling order, and the two waves the Runs target builds: the runs that need no
        // teacher (teachers, students without KD), then the ones that do. A student's project does not build its
        // teacher's: MSBuild serves every request for a project on the node that built it, so while that node ran one
        // long student, every other student of the same teacher waited for it — one teacher's students ran one at a time
        // whatever -m said (a sleep graph of one teacher and six students took 20.2 s with -m:2 instead of 12.1 s).
        string Line(PlannedRun r) => Path.Combine(projects, $"{(r.IsTeacher ? "teacher" : "student")}-{r.Id}.proj");
        WriteIfChanged(Path.Combine(folder, "order.txt"), string.Join("\n", plan.Select(Line)) + "\n");
        WriteIfChanged(Path.Combine(folder, IndependentRunsFile), string.Join("\n", plan.Where(r => r.TeacherKey is null).Select(Line)) + "\n");
        WriteIfChanged(Path.Combine(folder, DependentRunsFile), string.Join("\n", plan.Where(r => r.TeacherKey is not null).Select(Line)) + "\n");
        new GraphManifest(DateTime.UtcNow, jobs, plan.Select(r => new GraphRun(r.Id, r.IsTeacher ? "teacher" : "student", r.Key)).ToList()).Write(folder);
        return planned;
    }

    /// <summary>The Runs target's first wave (runs without a teacher) and second wave (distilled students), in order.</summary>
    public const string IndependentRunsFile = "independent.txt", DependentRunsFile = "dependent.txt";

    private static string Quote(string s) => "\"" + s + "\"";

    private static string Unquote(string s) => s.Length >= 2 && s[0] == '"' && s[^1] == '"' ? s[1..^1] : s;

    private static void WriteIfChanged(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content) return;
        AtomicFile.WriteAllText(path, content);
    }
}
