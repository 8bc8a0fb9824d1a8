using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Models;

namespace MedDistill.Experiments.Runs;

/// <summary>
/// A spec checked against the world before any work: the model exists and can take the cache's slice size, the cache
/// exists, the split is possible, the teacher run is finished and compatible, every option is known. Every failure is an
/// <see cref="ArgumentException"/> whose message starts with the spec field at fault (e.g. <c>model.name: ...</c>).
/// </summary>
public sealed class PreparedRun
{
    public static readonly string[] Optimizers = ["adam", "sgd"];
    public static readonly string[] LrSchedules = ["cyclic", "cosine", "poly", "constant"];
    public static readonly string[] Precisions = ["float32", "bf16"];

    private PreparedRun(RunSpec spec, RunFolder folder, string cacheDir, CacheIndex cache, DataSplit split, RunFolder? teacher, RunSpec? teacherSpec)
    {
        (Spec, Folder, CacheDir, Cache, Split, Teacher, TeacherSpec) = (spec, folder, cacheDir, cache, split, teacher, teacherSpec);
    }

    /// <summary>The spec with the cache's recipe hash filled in; its id is the run's id.</summary>
    public RunSpec Spec { get; }
    public RunFolder Folder { get; }
    public string Id => Folder.Id;
    public string CacheDir { get; }
    public CacheIndex Cache { get; }
    public DataSplit Split { get; }
    public RunFolder? Teacher { get; }
    public RunSpec? TeacherSpec { get; }

    /// <summary>Checks <paramref name="spec"/> and returns the prepared run. Creates the run folder (with spec.json) only
    /// when everything is valid, so a bad spec leaves nothing behind.</summary>
    /// <param name="dataDir">The data directory; the cache is <c>&lt;dataDir&gt;/cache/&lt;dataset&gt;</c>.</param>
    public static PreparedRun Prepare(RunSpec spec, RunStore store, string dataDir)
    {
        var resolved = Check(spec, store, dataDir, out var cacheDir, out var cache, out var split, out var teacher, out var teacherSpec);
        var folder = store.Create(resolved);
        return new PreparedRun(resolved, folder, cacheDir, cache, split, teacher, teacherSpec);
    }

    /// <summary>The id <paramref name="spec"/> gets once its recipe hash is resolved (after the same checks as <see cref="Prepare"/>).</summary>
    public static string ResolveId(RunSpec spec, RunStore store, string dataDir) =>
        Check(spec, store, dataDir, out _, out _, out _, out _, out _).Id();

    private static RunSpec Check(RunSpec spec, RunStore store, string dataDir, out string cacheDir, out CacheIndex cache,
        out DataSplit split, out RunFolder? teacher, out RunSpec? teacherSpec)
    {
        if (spec.Version != RunSpec.CurrentVersion) Fail("version", $"{spec.Version} is not supported (this build reads version {RunSpec.CurrentVersion})");
        if (spec.Kind is not (RunSpec.TrainKind or RunSpec.DistillKind)) Fail("kind", $"'{spec.Kind}' must be train or distill");
        if (!Precisions.Contains(spec.Precision)) Fail("precision", $"'{spec.Precision}' must be one of {string.Join(", ", Precisions)}");

        // Model
        var m = spec.Model;
        if (!ModelRegistry.Names.Contains(m.Name)) Fail("model.name", $"unknown model '{m.Name}'; known: {string.Join(", ", ModelRegistry.Names)}");
        if (!(m.Width > 0) || double.IsInfinity(m.Width)) Fail("model.width", $"{m.Width} must be a positive number");
        if (m.InChannels < 1) Fail("model.inChannels", $"{m.InChannels} must be at least 1");
        if (m.Classes < 2) Fail("model.classes", $"{m.Classes}: segmentation needs at least 2 classes (background and one structure)");
        if (m.InChannels != spec.Data.Channels)
            Fail("model.inChannels", $"{m.InChannels} differs from data.channels {spec.Data.Channels} (slices stacked per sample)");

        // Schedule
        var s = spec.Schedule;
        if (s.Epochs < 1) Fail("schedule.epochs", $"{s.Epochs} must be at least 1");
        if (s.Iterations is < 1) Fail("schedule.iterations", $"{s.Iterations} must be at least 1 (or absent to use epochs)");
        if (s.BatchSize < 1) Fail("schedule.batchSize", $"{s.BatchSize} must be at least 1");
        if (!Optimizers.Contains(s.Optimizer)) Fail("schedule.optimizer", $"'{s.Optimizer}' must be one of {string.Join(", ", Optimizers)}");
        if (!(s.LearningRate > 0)) Fail("schedule.learningRate", $"{s.LearningRate} must be positive");
        if (!LrSchedules.Contains(s.LrSchedule)) Fail("schedule.lrSchedule", $"'{s.LrSchedule}' must be one of {string.Join(", ", LrSchedules)}");
        if (s.CyclicStepSize < 1) Fail("schedule.cyclicStepSize", $"{s.CyclicStepSize} must be at least 1");
        if (s.ValidateEvery is < 1) Fail("schedule.validateEvery", $"{s.ValidateEvery} must be at least 1 (or left out: validate at epoch ends)");
        if (!(s.MinLearningRate >= 0) || s.MinLearningRate >= s.LearningRate)
            Fail("schedule.minLearningRate", $"{s.MinLearningRate} must be at least 0 and below learningRate {s.LearningRate}");
        if (s.Momentum is < 0 or >= 1) Fail("schedule.momentum", $"{s.Momentum} must be in [0, 1)");
        if (s.WeightDecay < 0) Fail("schedule.weightDecay", $"{s.WeightDecay} must not be negative");

        // Method and losses: binding them checks every option name and value.
        Check("loss", () => Training.Objective.BindSegmentationLoss(spec.Loss));
        if (spec.Kind == RunSpec.TrainKind)
        {
            if (spec.Teacher is not null) Fail("teacher", "a train run has no teacher (use kind distill)");
            if (spec.Method.Name != "none" && !Distillation.DistillationMethods.IsSelfDistillation(spec.Method.Name))
                Fail("method.name", $"a train run uses method none or a self-distillation method ({string.Join(", ", Distillation.DistillationMethods.SelfDistillation)}), not '{spec.Method.Name}' (use kind distill)");
            if (Distillation.DistillationMethods.IsSelfDistillation(spec.Method.Name)) Check("method", () => Training.Objective.BindMethodOptions(spec.Method));
        }
        else
        {
            if (spec.Method.Name == "none") Fail("method.name", "a distill run needs a method (affinity-kd or emkd)");
            Check("method", () => Training.Objective.BindMethodOptions(spec.Method));
        }

        // Data
        var d = spec.Data;
        if (string.IsNullOrWhiteSpace(d.Dataset)) Fail("data.dataset", "is empty");
        if (d.Channels < 1 || d.Channels % 2 == 0) Fail("data.channels", $"{d.Channels} must be a positive odd number");
        if (d.EmptySliceFraction is < 0 or > 1 || double.IsNaN(d.EmptySliceFraction)) Fail("data.emptySliceFraction", $"{d.EmptySliceFraction} must be in [0, 1]");
        Check("data.augmentation", () => d.Augmentation.Validate());
        if (d.Cache is not null && (d.Cache.Length == 0 || d.Cache.IndexOfAny(['/', '\\']) >= 0 || d.Cache is "." or ".."))
            Fail("data.cache", $"'{d.Cache}' must be a plain folder name under <data-dir>/cache");
        cacheDir = Path.Combine(Path.GetFullPath(dataDir), "cache", d.Cache ?? d.Dataset);
        var index = CacheIndex.TryRead(cacheDir);
        if (index is null)
            Fail(d.Cache is null ? "data.dataset" : "data.cache", $"no preprocessed cache of '{d.Dataset}' at {cacheDir}; run: meddistill data preprocess {d.Dataset}" +
                (d.Cache is null ? "" : $" --cache {cacheDir}"));
        if (index!.Dataset != d.Dataset)
            Fail("data.cache", $"the cache at {cacheDir} holds '{index.Dataset}', not '{d.Dataset}'");
        cache = index;
        if (d.RecipeHash is not null && d.RecipeHash != cache.RecipeHash)
            Fail("data.recipeHash", $"{d.RecipeHash} differs from the cache's {cache.RecipeHash} at {cacheDir} (it was preprocessed with another recipe)");
        var sizes = cache.Cases.Select(c => (c.Height, c.Width)).Distinct().ToList();
        if (sizes.Count != 1) Fail("data.dataset", $"the cache at {cacheDir} mixes slice sizes {string.Join(", ", sizes)}");
        var (h, w) = sizes[0];
        int multiple = InputMultiple(m);
        if (h % multiple != 0 || w % multiple != 0)
            Fail("model.name", $"{m.Name} needs height and width multiples of {multiple}, but the cache's slices are {h}×{w} (preprocess with another --size)");

        var colour = cache.Cases.Select(c => c.ImageChannels).Max();
        if (colour > 1 && d.Channels != colour)
            Fail("data.channels", $"{d.Channels}: the cache at {cacheDir} holds {colour}-channel colour images (recipe {cache.Recipe.Dataset}), so data.channels and model.inChannels are {colour}");
        if (cache.Recipe.ClassCount != m.Classes)
            Fail("model.classes", $"{m.Classes} differs from the {cache.Recipe.ClassCount} classes of the cache at {cacheDir} (recipe {cache.Recipe.Dataset}; background counts as one)");

        var sp = d.Split;
        split = RunSplits.Build(sp, cache, cacheDir);

        // Teacher
        teacher = null;
        teacherSpec = null;
        if (spec.Kind == RunSpec.DistillKind)
        {
            if (string.IsNullOrWhiteSpace(spec.Teacher)) Fail("teacher", "a distill run needs the id of a finished train run");
            if (!RunStore.IsRunId(spec.Teacher!)) Fail("teacher", $"'{spec.Teacher}' is not a run id (16 hex digits)");
            teacher = store.Folder(spec.Teacher!);
            if (!File.Exists(teacher.SpecPath)) Fail("teacher", $"run {spec.Teacher} does not exist in {store.Root}");
            teacherSpec = teacher.ReadSpec();
            if (teacherSpec.Kind != RunSpec.TrainKind) Fail("teacher", $"run {spec.Teacher} is a {teacherSpec.Kind} run; teachers are train runs");
            if (!teacher.IsFinished) Fail("teacher", $"run {spec.Teacher} ({teacherSpec.Model.Name}) has not finished; train it first (meddistill train --run {spec.Teacher})");
            if (teacherSpec.Data.Dataset != d.Dataset || teacherSpec.Data.RecipeHash != cache.RecipeHash)
                Fail("teacher", $"run {spec.Teacher} was trained on another data set or recipe ({teacherSpec.Data.Dataset})");
            if (teacherSpec.Data.Split.Protocol != sp.Protocol)
                Fail("teacher", $"run {spec.Teacher} was split by protocol {teacherSpec.Data.Split.Protocol}, this run by {sp.Protocol}");
            if (!RunSplits.SameTarget(sp.Protocol, teacherSpec.Data.Split.Target, sp.Target))
                Fail("teacher", $"run {spec.Teacher} was trained for target {teacherSpec.Data.Split.Target}, so it has seen this run's test site {sp.Target}");
            if (teacherSpec.Model.Classes != m.Classes) Fail("teacher", $"run {spec.Teacher} predicts {teacherSpec.Model.Classes} classes, the student {m.Classes}");
            if (teacherSpec.Data.Channels != d.Channels) Fail("teacher", $"run {spec.Teacher} reads {teacherSpec.Data.Channels} channels, the student {d.Channels}");
        }
        else if (spec.Teacher is not null) Fail("teacher", "only distill runs have a teacher");

        return spec with { Data = d with { RecipeHash = cache.RecipeHash } };
    }

    /// <summary>The model's input multiple, from a width-0.05 instance: cheap to build whatever the real width.</summary>
    private static int InputMultiple(ModelSpec m)
    {
        using var probe = ModelRegistry.Create(m.Name, new ModelOptions(m.InChannels, m.Classes, Math.Min(m.Width, 0.05)));
        return probe.InputSizeMultiple;
    }

    private static void Check(string field, Action action)
    {
        try { action(); }
        catch (ArgumentException e) { throw new ArgumentException(e.Message.StartsWith(field, StringComparison.Ordinal) ? e.Message : $"{field}: {e.Message}"); }
    }

    private static void Fail(string field, string message) => throw new ArgumentException($"{field}: {message}");
}
