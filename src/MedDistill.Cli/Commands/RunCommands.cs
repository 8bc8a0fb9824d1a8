using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using MedDistill.Data.Manifest;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Torch;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill train</c>, <c>distill</c>, <c>evaluate</c> and <c>runs</c>. A run is built from a spec: a spec file, or a
/// profile (<c>paper</c>, <c>phantom</c>), then flags, then <c>--set path=value</c> edits. The same spec always maps to
/// the same run folder, so rerunning a command resumes an interrupted run and does nothing for a finished one.
/// </summary>
public static class RunCommands
{
    public static Command Train() => Build("train", "Train a network with supervision only (a teacher, or a student without distillation)", distill: false);

    public static Command Distill() => Build("distill", "Train a student distilled from a finished teacher run (Affinity-KD, EMKD)", distill: true);

    private sealed record Common(
        Argument<string?> SpecFile, Option<string> Profile, Option<string?> Model, Option<double?> Width, Option<string?> Dataset,
        Option<string?> Target, Option<int?> Epochs, Option<int?> Iterations, Option<int?> BatchSize, Option<long?> Seed,
        Option<string[]> Set, Option<string?> RunsDir, Option<string?> DataDir, Option<string?> Device, Option<int?> Threads,
        Option<int> Workers, Option<int> CheckpointEvery, Option<bool> PrintSpec, Option<bool> Json, Option<bool> Quiet,
        Option<bool> NoTeacherCache, Option<string?> Graph, Option<bool> WaitForLock);

    private static Command Build(string name, string description, bool distill)
    {
        var c = new Common(
            new Argument<string?>("spec") { Description = "A run spec (JSON); omitted: start from --profile", Arity = ArgumentArity.ZeroOrOne },
            new Option<string>("--profile") { Description = "Starting spec when no file is given: paper or phantom", DefaultValueFactory = _ => "phantom" },
            new Option<string?>("--model") { Description = "Network (meddistill models list)" },
            new Option<double?>("--width") { Description = "Width multiplier of the network" },
            new Option<string?>("--dataset") { Description = "Preprocessed data set (its cache under <data-dir>/cache/)" },
            new Option<string?>("--target") { Description = "Target (test) site of leave-one-site-out: S1..S6 or a site name" },
            new Option<int?>("--epochs") { Description = "Epochs" },
            new Option<int?>("--iterations") { Description = "Optimiser steps instead of epochs" },
            new Option<int?>("--batch-size") { Description = "Batch size" },
            new Option<long?>("--seed") { Description = "Seed of initialisation, data order, augmentation, dropout" },
            new Option<string[]>("--set") { Description = "Spec edit path=value (repeatable), e.g. --set schedule.lrSchedule=cosine", AllowMultipleArgumentsPerToken = false },
            new Option<string?>("--runs-dir") { Description = $"Runs folder (default: ${RunStore.EnvironmentVariable}, else runs/ at the repository root)" },
            DataCommand.DataDirOption(),
            new Option<string?>("--device") { Description = "cpu or cuda[:N] (default: cuda when available, else cpu)" },
            new Option<int?>("--threads") { Description = "libtorch intra-op threads (default: libtorch's)" },
            new Option<int>("--workers") { Description = "Batch-building threads", DefaultValueFactory = _ => 2 },
            new Option<int>("--checkpoint-every") { Description = "Steps between resume points (also at every epoch end)", DefaultValueFactory = _ => 200 },
            new Option<bool>("--print-spec") { Description = "Print the resolved spec and run id, and stop" },
            new Option<bool>("--json") { Description = "Print the result as JSON" },
            new Option<bool>("--quiet") { Description = "No progress on stderr" },
            new Option<bool>("--no-teacher-cache") { Description = "Run the teacher's pass at every step instead of sharing it through the teacher run's cache (same result, slower)" },
            new Option<string?>("--graph") { Description = "Plan folder of the graph this run belongs to: print the whole graph's progress (stderr) when done" },
            new Option<bool>("--wait-for-lock") { Description = "When another process holds the run, wait for it (then a finished run is not trained again) instead of failing; cluster jobs use it" });
        var teacher = new Option<string?>("--teacher") { Description = "Run id of the teacher (a finished train run)" };
        var method = new Option<string?>("--method") { Description = "affinity-kd or emkd (default affinity-kd)" };
        var terms = new Option<string?>("--terms") { Description = "The method's terms joined by + (Affinity-KD, the default method of a spec without one: lm, kmm, aam; ACW-SKD: aux, cw, frm, at; GKD: intra, inter, cross; default: all)" };

        var command = new Command(name, description)
        {
            c.SpecFile, c.Profile, c.Model, c.Width, c.Dataset, c.Target, c.Epochs, c.Iterations, c.BatchSize, c.Seed, c.Set,
            c.RunsDir, c.DataDir, c.Device, c.Threads, c.Workers, c.CheckpointEvery, c.PrintSpec, c.Json, c.Quiet, c.Graph, c.WaitForLock,
        };
        if (distill) command.Options.Add(c.NoTeacherCache);
        if (distill)
        {
            command.Options.Add(teacher);
            command.Options.Add(method);
            command.Options.Add(terms);
        }
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var spec = SpecFrom(parse, c, distill);
            if (distill)
            {
                var extra = new List<string> { "kind=distill" };
                if (parse.GetValue(teacher) is { } t) extra.Add($"teacher={t}");
                var m = parse.GetValue(method) ?? (spec.Method.Name == "none" ? "affinity-kd" : spec.Method.Name);
                extra.Add($"method.name={m}");
                if (parse.GetValue(terms) is { } tr) extra.Add($"method.options.terms={tr}");
                spec = SpecOverrides.Apply(spec, extra);
            }
            else if (spec.Kind != RunSpec.TrainKind)
                throw new ArgumentException($"kind: the spec is a {spec.Kind} run; use meddistill {spec.Kind}");
            spec = SpecOverrides.Apply(spec, parse.GetValue(c.Set) ?? []);
            return Execute(parse, c, spec);
        }));
        return command;
    }

    private static RunSpec SpecFrom(ParseResult parse, Common c, bool distill)
    {
        var spec = parse.GetValue(c.SpecFile) is { } file ? RunSpec.Load(file) : RunProfiles.Get(parse.GetValue(c.Profile)!);
        var edits = new List<string>();
        void Edit<T>(Option<T?> option, string path) where T : struct
        {
            if (parse.GetValue(option) is T v) edits.Add($"{path}={JsonSerializer.Serialize(v)}");
        }
        void EditText(Option<string?> option, string path)
        {
            if (parse.GetValue(option) is { } v) edits.Add($"{path}={JsonSerializer.Serialize(v)}");
        }
        EditText(c.Model, "model.name");
        Edit(c.Width, "model.width");
        EditText(c.Dataset, "data.dataset");
        EditText(c.Target, "data.split.target");
        Edit(c.Epochs, "schedule.epochs");
        Edit(c.Iterations, "schedule.iterations");
        Edit(c.BatchSize, "schedule.batchSize");
        Edit(c.Seed, "seed");
        return SpecOverrides.Apply(spec, edits);
    }

    private static int Execute(ParseResult parse, Common c, RunSpec spec)
    {
        var store = new RunStore(RunStore.Resolve(parse.GetValue(c.RunsDir), RepositoryRoot()));
        var dataDir = DataCommand.ResolveDataDir(parse.GetValue(c.DataDir));
        if (parse.GetValue(c.PrintSpec))
        {
            var id = PreparedRun.ResolveId(spec, store, dataDir);
            Console.WriteLine(spec.ToJson());
            Console.WriteLine($"run id: {id}");
            return CliHost.ExitOk;
        }
        var device = ResolveDevice(parse.GetValue(c.Device));
        if (parse.GetValue(c.Threads) is int threads) torch.set_num_threads(threads);
        // Same bytes, less kernel time (NativeHeap); MEDDISTILL_HEAP=default keeps glibc's behaviour, e.g. to compare.
        if (Environment.GetEnvironmentVariable("MEDDISTILL_HEAP") != "default") NativeHeap.Retain();
        int workers = parse.GetValue(c.Workers), every = parse.GetValue(c.CheckpointEvery);
        if (workers < 0) throw new ArgumentException($"--workers {workers} must not be negative");
        if (every < 1) throw new ArgumentException($"--checkpoint-every {every} must be at least 1");
        var run = PreparedRun.Prepare(spec, store, dataDir);
        bool json = parse.GetValue(c.Json);
        var trainer = new Trainer(run, new TrainerOptions
        {
            Device = device, Workers = workers, CheckpointEvery = every, ShareTeacherPass = !parse.GetValue(c.NoTeacherCache),
            // A day is "until the holder is done": the scheduler's time limit ends a job that waits longer.
            LockWait = parse.GetValue(c.WaitForLock) ? TimeSpan.FromDays(1) : TimeSpan.Zero,
            // Progress goes to stderr, so it never mixes with --json's stdout.
            Progress = parse.GetValue(c.Quiet) ? SilentTrainingProgress.Instance : TextTrainingProgress.ForConsole(),
        });
        var result = trainer.Train();
        Report(run.Folder, result.Metrics, json, result.Outcome.ToString());
        if (parse.GetValue(c.Graph) is { } graphDir && GraphManifest.TryRead(graphDir) is { } graph)
            Console.Error.WriteLine(GraphProgress.Line(graph, store, DateTime.UtcNow));
        return CliHost.ExitOk;
    }

    public static Command Evaluate()
    {
        var runId = new Argument<string>("run") { Description = "Run id (a folder of the runs folder)" };
        var force = new Option<bool>("--force") { Description = "Evaluate again even when metrics.json exists" };
        var runsDir = new Option<string?>("--runs-dir") { Description = $"Runs folder (default: ${RunStore.EnvironmentVariable}, else runs/ at the repository root)" };
        var dataDir = DataCommand.DataDirOption();
        var device = new Option<string?>("--device") { Description = "cpu or cuda[:N] (default: cuda when available, else cpu)" };
        var json = new Option<bool>("--json") { Description = "Print the metrics as JSON" };
        var command = new Command("evaluate", "Per-case 3D Dice, HD95 and ASD of a trained run on its test cases (writes metrics.json)")
        {
            runId, force, runsDir, dataDir, device, json,
        };
        command.SetAction(parse => CliHost.Guard(() =>
        {
            var store = new RunStore(RunStore.Resolve(parse.GetValue(runsDir), RepositoryRoot()));
            var folder = store.Folder(parse.GetValue(runId)!);
            if (!File.Exists(folder.SpecPath)) throw new ArgumentException($"run {folder.Id} does not exist in {store.Root}");
            if (!File.Exists(folder.ModelPath)) throw new ArgumentException($"run {folder.Id} has no trained weights yet ({folder.ModelPath}); train it first");
            MetricsReport metrics;
            if (File.Exists(folder.MetricsPath) && !parse.GetValue(force)) metrics = MetricsReport.Read(folder.MetricsPath);
            else
            {
                var run = PreparedRun.Prepare(folder.ReadSpec(), store, DataCommand.ResolveDataDir(parse.GetValue(dataDir)));
                using var hold = folder.Lock();
                metrics = CaseEvaluator.EvaluateSaved(run, ResolveDevice(parse.GetValue(device)));
            }
            Report(folder, metrics, parse.GetValue(json), "Evaluated");
            return CliHost.ExitOk;
        }));
        return command;
    }

    public static Command Runs()
    {
        var runsDir = new Option<string?>("--runs-dir") { Description = $"Runs folder (default: ${RunStore.EnvironmentVariable}, else runs/ at the repository root)" };
        var list = new Command("list", "Every run with its status, model, method, target and test Dice") { runsDir };
        list.SetAction(parse => CliHost.Guard(() =>
        {
            var store = new RunStore(RunStore.Resolve(parse.GetValue(runsDir), RepositoryRoot()));
            Console.WriteLine($"{"run",-17} {"status",-11} {"kind",-8} {"model",-14} {"method",-18} {"target",-6} {"step",-13} dice");
            foreach (var folder in store.List())
            {
                var spec = folder.ReadSpec();
                var state = folder.ReadState();
                var dice = File.Exists(folder.MetricsPath) ? MetricsReport.Read(folder.MetricsPath).MeanDice().ToString("0.0000", CultureInfo.InvariantCulture) : "";
                var method = spec.Method.Name + (spec.Method.Options?["terms"] is { } t ? $"({t})" : "");
                Console.WriteLine($"{folder.Id,-17} {folder.EffectiveStatus(),-11} {spec.Kind,-8} {spec.Model.Name,-14} {method,-18} {spec.Data.Split.Target,-6} {$"{state.Step}/{state.TotalSteps}",-13} {dice}");
            }
            return CliHost.ExitOk;
        }));
        return new Command("runs", "The run store") { list };
    }

    private static void Report(RunFolder folder, MetricsReport? metrics, bool json, string outcome)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                run = folder.Id, outcome, folder = folder.Path, meanDice = metrics?.MeanDice(),
                sites = metrics?.PerSite.Where(s => s.ClassLabel == 1).ToDictionary(s => s.Site!, s => s.Dice.Mean),
            }));
            return;
        }
        Console.WriteLine($"run {folder.Id}: {outcome.ToLowerInvariant()} ({folder.Path})");
        if (metrics is null) return;
        foreach (var s in metrics.PerSite)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {s.Site,-8} class {s.ClassLabel} cases {s.Cases,3}  dice {s.Dice.Mean:0.0000} ± {s.Dice.StandardDeviation ?? 0:0.0000}  hd95 {s.Hd95.Mean:0.00} mm  asd {s.Asd.Mean:0.00} mm"));
    }

    internal static Device ResolveDevice(string? spec)
    {
        if (spec is null) return torch.cuda.is_available() ? new Device(DeviceType.CUDA, 0) : Device.CPU;
        Device device;
        try { device = Device.Parse(spec); }
        catch (Exception e) when (e is ArgumentException or FormatException) { throw new ArgumentException($"--device '{spec}': {e.Message}"); }
        if (device.Type == DeviceType.CUDA && !torch.cuda.is_available())
            throw new ArgumentException($"--device {spec}: this libtorch ({torch.__version__}) sees no CUDA device");
        return device;
    }

    internal static string RepositoryRoot()
    {
        try { return Path.GetDirectoryName(DataManifest.FindDefaultPath())!; }
        catch (FileNotFoundException) { return Directory.GetCurrentDirectory(); }
    }
}
