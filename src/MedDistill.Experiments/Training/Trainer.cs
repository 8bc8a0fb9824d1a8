using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MedDistill.Data.Loading;
using MedDistill.Data.Randomness;
using MedDistill.Data.Preprocessing;
using MedDistill.Data.Splits;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Models;
using MedDistill.Shared;
using MedDistill.Torch;
using MedDistill.Torch.Optim;
using static MedDistill.Torch.torch;

namespace MedDistill.Experiments.Training;

/// <summary>How a run executes here; none of it changes the result on the CPU (device and precision can on CUDA).</summary>
public sealed record TrainerOptions
{
    public Device Device { get; init; } = Device.CPU;

    /// <summary>Write a resume point every this many steps (and at every epoch end and the end).</summary>
    public int CheckpointEvery { get; init; } = 200;

    /// <summary>Loader threads building batches ahead of the training thread (0: build on the training thread).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>Slices per forward pass when predicting validation and test volumes.</summary>
    public int EvaluationBatchSize { get; init; } = 8;

    public ITrainingProgress Progress { get; init; } = SilentTrainingProgress.Instance;

    /// <summary>
    /// Read the frozen teacher's maps of each step from the teacher run's shared cache and store the ones computed here
    /// (<see cref="TeacherPassCache"/>); the result is the same bytes either way, only the time differs.
    /// </summary>
    public bool ShareTeacherPass { get; init; } = true;

    /// <summary>How long to wait for another process's hold on the run (zero: fail at once, the local graph's way).</summary>
    public TimeSpan LockWait { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Test hook standing in for a kill: called after each step with the number of steps done; returning true stops the
    /// run on the spot, without a checkpoint or any other write (as SIGKILL would).
    /// </summary>
    public Func<long, bool>? KillAfterStep { get; init; }
}

public enum TrainOutcome { Finished, AlreadyFinished, Killed }

public sealed record TrainResult(TrainOutcome Outcome, string RunId, long Steps, bool Resumed, MetricsReport? Metrics);

/// <summary>
/// Trains (and distils) one prepared run to the end: resumable at any point, deterministic on the CPU for a given spec.
/// <list type="bullet">
/// <item>Randomness: weights are initialised after <c>manual_seed(seed)</c>; before step k libtorch is reseeded from
/// (seed, k), which fixes dropout; batches and augmentation come from the loader's (seed, epoch, sample) streams. The
/// step number is therefore the whole random state, and a resumed run continues exactly as an uninterrupted one.</item>
/// <item>Each step runs in a dispose scope: native memory stays flat over a long run.</item>
/// <item>Validation (per-case 3D Dice on the split's validation cases) ends every epoch; the best epoch's weights are
/// the run's result (the last epoch's when there is no validation set).</item>
/// </list>
/// </summary>
public sealed class Trainer(PreparedRun run, TrainerOptions? options = null)
{
    private const ulong StepSeedStream = 0x57E9, AdapterSeedStream = 0xADA9;
    private readonly TrainerOptions options = options ?? new TrainerOptions();

    public PreparedRun Run { get; } = run;

    public TrainResult Train()
    {
        var folder = Run.Folder;
        using var hold = folder.Lock(options.LockWait);
        try
        {
            return TrainHeld(folder);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Record why, for `runs list` and the pipeline; the checkpoint stays, so fixing the cause and rerunning resumes.
            var state = folder.ReadState();
            folder.WriteState(state with { Status = RunStatus.Failed, Error = e.Message });
            throw;
        }
    }

    private TrainResult TrainHeld(RunFolder folder)
    {
        var sessionClock = Stopwatch.StartNew();
        if (folder.IsFinished)
        {
            options.Progress.Message($"run {Run.Id} is finished; nothing to do ({folder.Path})");
            return new TrainResult(TrainOutcome.AlreadyFinished, Run.Id, folder.ReadState().Step, false, MetricsReport.Read(folder.MetricsPath));
        }
        var spec = Run.Spec;
        var device = options.Device;
        AtomicFile.WriteAllText(folder.SplitPath, Run.Split.ToJson());
        AppendEnvironment(folder, RunEnvironment.Capture(device));

        var datasetOptions = new SliceDatasetOptions
        {
            Channels = spec.Data.Channels, EmptySliceFraction = spec.Data.EmptySliceFraction, FilterSeed = unchecked((ulong)spec.Seed),
        };
        var trainSet = new SliceDataset(Run.CacheDir, Run.Split[DataSplit.Train], datasetOptions);
        var loader = new SliceLoader(trainSet, new LoaderOptions
        {
            BatchSize = spec.Schedule.BatchSize, Shuffle = true, Seed = unchecked((ulong)spec.Seed), Workers = options.Workers,
            Augmentation = spec.Data.Augmentation,
        });
        int batchesPerEpoch = loader.BatchesPerEpoch;
        if (batchesPerEpoch == 0) throw new ArgumentException($"data: the training set has {trainSet.Count} slices, fewer than one batch of {spec.Schedule.BatchSize}");
        long totalSteps = spec.Schedule.Iterations ?? (long)spec.Schedule.Epochs * batchesPerEpoch;
        int totalEpochs = (int)((totalSteps + batchesPerEpoch - 1) / batchesPerEpoch);

        manual_seed(spec.Seed);
        using var student = ModelRegistry.Create(spec.Model.Name, ToOptions(spec.Model));
        student.to(device);
        using var teacher = LoadTeacher(device);
        manual_seed(unchecked((long)Xoshiro256.Mix(unchecked((ulong)spec.Seed), AdapterSeedStream)));
        using var objective = Objective.Create(spec, student, teacher);
        objective.TrainableModule?.to(device);

        var parameters = student.parameters().Cast<Tensor>().Concat(objective.TrainableParameters()).ToList();
        using var optimizer = CreateOptimizer(spec.Schedule, parameters);
        var scheduler = CreateScheduler(spec.Schedule, optimizer, totalSteps);

        var position = new TrainingPosition { RunId = Run.Id };
        bool resumed = false;
        if (File.Exists(folder.LastCheckpointPath))
        {
            position = TrainingCheckpoint.Load(folder.LastCheckpointPath, student, objective.TrainableModule, optimizer, scheduler, Run.Id);
            resumed = true;
            options.Progress.Message($"run {Run.Id}: resuming at step {position.Step} of {totalSteps} (epoch {position.Epoch + 1}, batch {position.BatchInEpoch})");
        }
        else options.Progress.Message($"run {Run.Id}: {Describe(spec)}; {totalSteps} steps ({totalEpochs} epochs of {batchesPerEpoch} batches) on {device}");
        var log = new RunLogs(folder, objective.TermNames, resumed ? position : null);
        folder.WriteState(new RunState { Status = RunStatus.Running, Step = position.Step, TotalSteps = totalSteps, Epoch = position.Epoch,
            BestEpoch = position.BestEpoch, BestValidationDice = position.BestValidationDice });

        var teacherPass = options.ShareTeacherPass ? TeacherPassCache.For(Run, device) : null;
        var validationCases = Run.Cache.Cases.Where(c => Run.Split[DataSplit.Validation].Contains(c.Id)).ToList();
        bool bf16 = spec.Precision == "bf16";
        var clock = Stopwatch.StartNew();
        long sessionImages = 0;

        while (position.Step < totalSteps)
        {
            int epoch = position.Epoch;
            long epochEndStep = Math.Min(totalSteps, (long)(epoch + 1) * batchesPerEpoch);
            foreach (var batch in loader.Epoch(epoch, position.BatchInEpoch))
            {
                objective.SetProgress(position.Step, totalSteps);
                var values = Step(batch, student, teacher, teacherPass, objective, optimizer, scheduler, spec.Seed, position.Step, bf16);
                sessionImages += batch.Count;
                position = position with
                {
                    Step = position.Step + 1, BatchInEpoch = position.BatchInEpoch + 1,
                    EpochLossSum = position.EpochLossSum + values.Total, EpochLossCount = position.EpochLossCount + 1,
                };
                double lr = optimizer.ParamGroups[0].LearningRate;
                log.Step(position.Step, epoch, lr, values);
                options.Progress.Step(new StepReport(position.Step, totalSteps, epoch, values.Total, lr, sessionImages / Math.Max(1e-9, clock.Elapsed.TotalSeconds)));
                if (options.KillAfterStep?.Invoke(position.Step) == true) return new TrainResult(TrainOutcome.Killed, Run.Id, position.Step, resumed, null);
                if (spec.Schedule.ValidateEvery is int every && validationCases.Count > 0 && (position.Step % every == 0 || position.Step == totalSteps))
                {
                    (position, var stepDice, var stepBest) = Validate(student, validationCases, position, epoch, bf16);
                    log.Validation(position.Step, epoch, stepDice, lr);
                    options.Progress.Message($"step {position.Step}/{totalSteps}: validation Dice {stepDice:0.0000}{(stepBest ? " (best so far)" : "")}");
                }
                if (position.Step >= epochEndStep) break;
                if (position.Step % options.CheckpointEvery == 0) Checkpoint(student, objective, optimizer, scheduler, position, totalSteps, log);
            }

            // End of epoch: validate, keep the best weights, then a resume point that starts the next epoch.
            double meanLoss = position.EpochLossSum / Math.Max(1, position.EpochLossCount);
            double? dice = null;
            bool best = false;
            if (validationCases.Count > 0 && spec.Schedule.ValidateEvery is null)
            {
                (position, var d, best) = Validate(student, validationCases, position, epoch, bf16);
                dice = d;
            }
            log.Epoch(epoch, position.Step, meanLoss, dice, optimizer.ParamGroups[0].LearningRate);
            options.Progress.EpochEnd(epoch, meanLoss, dice, best);
            position = position with { Epoch = epoch + 1, BatchInEpoch = 0, EpochLossSum = 0, EpochLossCount = 0 };
            Checkpoint(student, objective, optimizer, scheduler, position, totalSteps, log);
        }

        // The result: the best validation epoch's weights, or the last ones without validation.
        if (validationCases.Count > 0 && File.Exists(folder.BestCheckpointPath))
            TrainingCheckpoint.LoadWeights(folder.BestCheckpointPath, student);
        TrainingCheckpoint.SaveWeights(folder.ModelPath, student,
            WeightsMetadata(validationCases.Count > 0 ? position.BestEpoch ?? position.Epoch - 1 : position.Epoch - 1, position.BestValidationDice));

        if (teacherPass is not null)
            options.Progress.Message($"run {Run.Id}: teacher pass of {teacherPass.Hits} steps read from {teacherPass.Folder}, {teacherPass.Misses} computed and stored");
        var metrics = CaseEvaluator.EvaluateRun(Run, student, options.Device, options.EvaluationBatchSize, options.Progress);
        folder.WriteState(new RunState { Status = RunStatus.Finished, Step = position.Step, TotalSteps = totalSteps, Epoch = position.Epoch,
            BestEpoch = position.BestEpoch, BestValidationDice = position.BestValidationDice, WallSeconds = sessionClock.Elapsed.TotalSeconds });
        folder.MarkFinished();
        return new TrainResult(TrainOutcome.Finished, Run.Id, position.Step, resumed, metrics);
    }

    /// <summary>Mean validation Dice of the current weights; the best so far are saved as the run's candidate result.</summary>
    private (TrainingPosition Position, double Dice, bool Best) Validate(SegmentationModel student, IReadOnlyList<CachedCase> cases,
        TrainingPosition position, int epoch, bool bf16)
    {
        var spec = Run.Spec;
        var predictor = new VolumePredictor(student, Run.CacheDir, spec.Data.Channels, options.EvaluationBatchSize, options.Device, bf16);
        double dice = cases.Select(c => CaseEvaluator.MeanForegroundDice(predictor.Predict(c), c, Run.CacheDir, spec.Model.Classes)).Average();
        bool best = position.BestValidationDice is not double b || dice > b;
        if (best)
        {
            TrainingCheckpoint.SaveWeights(Run.Folder.BestCheckpointPath, student, WeightsMetadata(epoch, dice));
            position = position with { BestEpoch = epoch, BestValidationDice = dice };
        }
        return (position, dice, best);
    }

    /// <summary>One optimiser step in its own dispose scope; returns the loss values (total and per term, unweighted).</summary>
    private static StepValues Step(HostBatch batch, SegmentationModel student, SegmentationModel? teacher, TeacherPassCache? teacherPass,
        Objective objective, Optimizer optimizer, LRScheduler? scheduler, long seed, long step, bool bf16)
    {
        using var scope = NewDisposeScope();
        manual_seed(unchecked((long)Xoshiro256.Mix(unchecked((ulong)seed), StepSeedStream, (ulong)step)));
        var device = student.parameters().First().device;
        var (image, label) = batch.ToTensors(device);
        optimizer.zero_grad();
        FeatureMaps? teacherMaps = null;
        FeatureMaps studentMaps;
        using (bf16 ? autocast(device.Type) : null)
        {
            if (teacher is not null)
            {
                FeatureMaps TeacherPass()
                {
                    using (no_grad()) return teacher.forward_features(image, objective.TeacherTaps.ToArray());
                }
                teacherMaps = teacherPass is null ? TeacherPass() : teacherPass.Get(step, objective.TeacherTaps, device, TeacherPass);
            }
            studentMaps = student.forward_features(image, objective.StudentTaps.ToArray());
        }
        objective.SetInput(image);
        // Losses in float32 whatever the forward's precision.
        var (total, terms) = objective.Compute(studentMaps, teacherMaps, label);
        total.backward();
        optimizer.step();
        scheduler?.step();
        return new StepValues(total.item<float>(), terms.Select(t => t.Value.item<float>()).Select(v => (double)v).ToArray());
    }

    private SegmentationModel? LoadTeacher(Device device)
    {
        if (Run.Teacher is null || Run.TeacherSpec is null) return null;
        var teacher = ModelRegistry.Create(Run.TeacherSpec.Model.Name, ToOptions(Run.TeacherSpec.Model));
        TrainingCheckpoint.LoadWeights(Run.Teacher.ModelPath, teacher);
        teacher.to(device);
        teacher.eval();
        foreach (var p in teacher.parameters()) p.requires_grad_(false);
        return teacher;
    }

    private void Checkpoint(SegmentationModel student, Objective objective, Optimizer optimizer, LRScheduler? scheduler,
        TrainingPosition position, long totalSteps, RunLogs log)
    {
        log.Flush();
        TrainingCheckpoint.Save(Run.Folder.LastCheckpointPath, student, objective.TrainableModule, optimizer, scheduler, position);
        Run.Folder.WriteState(new RunState { Status = RunStatus.Running, Step = position.Step, TotalSteps = totalSteps, Epoch = position.Epoch,
            BestEpoch = position.BestEpoch, BestValidationDice = position.BestValidationDice });
    }

    private Dictionary<string, string> WeightsMetadata(int epoch, double? dice)
    {
        var meta = new Dictionary<string, string>
        {
            ["run"] = Run.Id, ["model"] = Run.Spec.Model.Name, ["epoch"] = (epoch + 1).ToString(CultureInfo.InvariantCulture),
            ["format"] = "meddistill-weights/1",
        };
        if (dice is double d) meta["validation_dice"] = d.ToString("R", CultureInfo.InvariantCulture);
        return meta;
    }

    public static ModelOptions ToOptions(ModelSpec m) => new(m.InChannels, m.Classes, m.Width);

    private static Optimizer CreateOptimizer(ScheduleSpec s, IReadOnlyList<Tensor> parameters) => s.Optimizer switch
    {
        "adam" => optim.Adam(parameters, s.LearningRate, weight_decay: s.WeightDecay),
        "sgd" => optim.SGD(parameters, s.LearningRate, s.Momentum, weight_decay: s.WeightDecay),
        _ => throw new ArgumentException($"schedule.optimizer: '{s.Optimizer}' is not known"),
    };

    private static LRScheduler? CreateScheduler(ScheduleSpec s, Optimizer optimizer, long totalSteps) => s.LrSchedule switch
    {
        // The paper: "CyclicLR with step size 2000 decreasing to a minimum of 1e-6" between that floor and Adam's 0.01.
        "cyclic" => new CyclicLR(optimizer, s.MinLearningRate, s.LearningRate, s.CyclicStepSize, cycle_momentum: false),
        "cosine" => new CosineAnnealingLR(optimizer, (int)Math.Min(int.MaxValue, totalSteps), s.MinLearningRate),
        "poly" => new PolynomialLR(optimizer, (int)Math.Min(int.MaxValue, totalSteps), 0.9),
        "constant" => null,
        _ => throw new ArgumentException($"schedule.lrSchedule: '{s.LrSchedule}' is not known"),
    };

    private static string Describe(RunSpec spec) =>
        spec.Kind == RunSpec.TrainKind
            ? $"train {spec.Model.Name} (width {spec.Model.Width}) on {spec.Data.Dataset}, target {spec.Data.Split.Target}"
            : $"distill {spec.Model.Name} (width {spec.Model.Width}) from run {spec.Teacher} with {spec.Method.Name}, target {spec.Data.Split.Target}";

    private static void AppendEnvironment(RunFolder folder, RunEnvironment env)
    {
        var sessions = new List<RunEnvironment>();
        if (File.Exists(folder.EnvironmentPath))
        {
            try { sessions = JsonSerializer.Deserialize<List<RunEnvironment>>(File.ReadAllText(folder.EnvironmentPath), EnvJson) ?? []; }
            catch (JsonException) { sessions = []; }
        }
        sessions.Add(env);
        AtomicFile.WriteAllText(folder.EnvironmentPath, JsonSerializer.Serialize(sessions, EnvJson));
    }

    private static readonly JsonSerializerOptions EnvJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}

/// <summary>The loss values of one step: the weighted total and each term unweighted, in <see cref="Objective.TermNames"/> order.</summary>
public readonly record struct StepValues(double Total, double[] Terms);

