using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Torch.Serialization;

namespace MedDistill.Experiments.Tests;

public class TrainerTests
{
    private static TrainResult Train(RunSpec spec, RunStore store, TrainerOptions? options = null) =>
        new Trainer(PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir), options ?? new TrainerOptions { Workers = 0, CheckpointEvery = 2 }).Train();

    private static Dictionary<string, float[]> Weights(string path)
    {
        using var scope = NewDisposeScope();
        return Safetensors.Load(path).ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).ToArray<float>());
    }

    private static void AssertSameWeights(string expected, string actual)
    {
        var a = Weights(expected);
        var b = Weights(actual);
        Assert.That(b.Keys, Is.EqualTo(a.Keys));
        foreach (var (k, v) in a) Assert.That(b[k], Is.EqualTo(v), $"tensor {k}");
    }

    [Test]
    public void ARunKilledAtAnyStepResumesToTheSameWeightsAsAnUninterruptedOne([Values(1, 3, 4)] int killAfter)
    {
        var spec = ExperimentFixture.Tiny();
        var whole = ExperimentFixture.NewStore();
        var first = Train(spec, whole);
        Assert.That(first.Outcome, Is.EqualTo(TrainOutcome.Finished));
        Assert.That(first.Steps, Is.EqualTo(6), "2 epochs of 3 batches");

        var broken = ExperimentFixture.NewStore();
        var killed = Train(spec, broken, new TrainerOptions { Workers = 0, CheckpointEvery = 2, KillAfterStep = s => s == killAfter });
        Assert.That(killed.Outcome, Is.EqualTo(TrainOutcome.Killed));
        var folder = broken.Folder(killed.RunId);
        Assert.That(File.Exists(folder.ModelPath), Is.False, "a killed run has no result");
        var resumed = Train(spec, broken);
        Assert.Multiple(() =>
        {
            Assert.That(resumed.Outcome, Is.EqualTo(TrainOutcome.Finished));
            Assert.That(resumed.Resumed, Is.EqualTo(killAfter >= 2), "resumes from the last checkpoint when there is one");
            Assert.That(resumed.RunId, Is.EqualTo(first.RunId));
        });
        AssertSameWeights(whole.Folder(first.RunId).ModelPath, folder.ModelPath);
        // The selected weights may come from an epoch before the kill; the final resume point (weights, optimiser and
        // scheduler state after the last step) shows that the steps after the kill matched too.
        AssertSameWeights(whole.Folder(first.RunId).LastCheckpointPath, folder.LastCheckpointPath);
        // Every step is logged exactly once, whatever the killed session had written.
        var steps = File.ReadAllLines(folder.StepLogPath).Skip(1).Select(l => long.Parse(l.Split(',')[0])).ToList();
        Assert.That(steps, Is.EqualTo(Enumerable.Range(1, 6).Select(i => (long)i)));
        Assert.That(File.ReadAllText(folder.MetricsPath), Is.EqualTo(File.ReadAllText(whole.Folder(first.RunId).MetricsPath)));
    }

    [Test]
    public void AFinishedRunIsNeverRecomputed()
    {
        var store = ExperimentFixture.NewStore();
        var spec = ExperimentFixture.Tiny() with { Schedule = ExperimentFixture.Tiny().Schedule with { Epochs = 1 } };
        var first = Train(spec, store);
        var folder = store.Folder(first.RunId);
        var stamp = File.GetLastWriteTimeUtc(folder.ModelPath);
        var again = Train(spec, store);
        Assert.That(again.Outcome, Is.EqualTo(TrainOutcome.AlreadyFinished));
        Assert.That(File.GetLastWriteTimeUtc(folder.ModelPath), Is.EqualTo(stamp));
        Assert.That(again.Metrics!.MeanDice(), Is.EqualTo(first.Metrics!.MeanDice()));
    }

    [Test]
    public void TheSameSeedGivesTheSameRunAndAnotherSeedAnother()
    {
        var spec = ExperimentFixture.Tiny() with { Schedule = ExperimentFixture.Tiny().Schedule with { Epochs = 1 } };
        var a = ExperimentFixture.NewStore();
        var b = ExperimentFixture.NewStore();
        var ra = Train(spec, a, new TrainerOptions { Workers = 2 });
        var rb = Train(spec, b, new TrainerOptions { Workers = 0 });
        AssertSameWeights(a.Folder(ra.RunId).ModelPath, b.Folder(rb.RunId).ModelPath);
        var other = Train(spec with { Seed = 99 }, b);
        Assert.That(Weights(b.Folder(other.RunId).ModelPath)["initial.conv.weight"], Is.Not.EqualTo(Weights(a.Folder(ra.RunId).ModelPath)["initial.conv.weight"]));
    }

    [Test]
    public void ARunFolderRecordsSpecSplitEnvironmentLogsAndPerCaseMetrics()
    {
        var store = ExperimentFixture.NewStore();
        var result = Train(ExperimentFixture.Tiny(), store);
        var folder = store.Folder(result.RunId);
        var spec = folder.ReadSpec();
        Assert.Multiple(() =>
        {
            Assert.That(spec.Id(), Is.EqualTo(result.RunId));
            Assert.That(spec.Data.RecipeHash, Is.Not.Null.And.Not.Empty, "the cache recipe is part of the id");
            Assert.That(folder.ReadState().Status, Is.EqualTo(RunStatus.Finished));
            Assert.That(File.ReadAllText(folder.EnvironmentPath), Does.Contain("\"libtorch\"").And.Contain("\"device\": \"cpu\"").And.Contain("\"threads\"").And.Contain("\"cpuVectorUnits\""));
            Assert.That(File.ReadAllText(folder.SplitPath), Does.Contain("loso-S2"));
            Assert.That(File.ReadAllLines(folder.EpochLogPath), Has.Length.EqualTo(3), "header + 2 epochs");
            Assert.That(File.ReadAllLines(folder.StepLogPath)[0], Is.EqualTo("step,epoch,lr,total,dice,focal"));
        });
        var metrics = result.Metrics!;
        // Target S2 = BMC: both of its cases are tested, each with a 3D Dice and HD95.
        Assert.That(metrics.Cases.Select(c => c.Site).Distinct(), Is.EqualTo(new[] { "BMC" }));
        Assert.That(metrics.Cases, Has.Count.EqualTo(2));
        Assert.That(metrics.Cases.All(c => c.Dice is >= 0 and <= 1 && !double.IsNaN(c.Hd95)));
    }

    [Test]
    public void TheEnvironmentNamesTheCpusVectorUnitsThatDecideTheLastBits()
    {
        // An AVX-512 server, an AVX2 desktop, a CPU with neither: the units libtorch dispatches on, in its order.
        var server = new HashSet<string> { "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl", "avx512_bf16" };
        var desktop = new HashSet<string> { "sse4_2", "avx", "avx2", "fma" };
        Assert.That(RunEnvironment.CpuVectorUnitsOf(server), Is.EqualTo("avx512f avx512bw avx512vl avx512dq avx2 fma"));
        Assert.That(RunEnvironment.CpuVectorUnitsOf(desktop), Is.EqualTo("avx2 fma"));
        Assert.That(RunEnvironment.CpuVectorUnitsOf(new HashSet<string> { "sse2" }), Is.EqualTo("none"));
        Assert.That(RunEnvironment.CpuVectorUnitsOf(null), Is.Null);
    }
}

public class DistillationRunTests
{
    [Test]
    public void AStudentIsDistilledFromAFinishedTeacherRunThatStaysUntouched([Values("affinity-kd", "emkd", "mskd")] string method)
    {
        var store = ExperimentFixture.NewStore();
        var teacherSpec = ExperimentFixture.Tiny("unet", 0.125) with { Schedule = ExperimentFixture.Tiny().Schedule with { Epochs = 1 } };
        var options = new TrainerOptions { Workers = 0, CheckpointEvery = 2 };
        var teacher = new Trainer(PreparedRun.Prepare(teacherSpec, store, ExperimentFixture.DataDir), options).Train();
        var teacherFolder = store.Folder(teacher.RunId);
        var teacherBytes = File.ReadAllBytes(teacherFolder.ModelPath);

        var spec = SpecOverrides.Apply(ExperimentFixture.Tiny(), ["kind=distill", $"teacher={teacher.RunId}", $"method.name={method}"]);
        var run = PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir);
        var result = new Trainer(run, options).Train();

        Assert.That(result.Outcome, Is.EqualTo(TrainOutcome.Finished));
        Assert.That(File.ReadAllBytes(teacherFolder.ModelPath), Is.EqualTo(teacherBytes), "the teacher's weights are not changed");
        var header = File.ReadAllLines(run.Folder.StepLogPath)[0];
        Assert.That(header, Is.EqualTo(method switch
        {
            "emkd" => "step,epoch,lr,total,dice,focal,pmd,imd,rad",
            "mskd" => "step,epoch,lr,total,dice,focal,ffd,rgd",
            _ => "step,epoch,lr,total,dice,focal,lm,kmm,aam",
        }));
        // Every distillation term was computed and finite at every step.
        foreach (var row in File.ReadAllLines(run.Folder.StepLogPath).Skip(1))
            Assert.That(row.Split(',').Skip(4).Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)), Has.All.Matches<double>(double.IsFinite));
        Assert.That(result.Metrics!.Cases, Has.Count.EqualTo(2));
        if (method == "affinity-kd")
        {
            // The KMM adapter is trained and checkpointed with the student.
            var entries = MedDistill.Torch.Serialization.Safetensors.ReadEntries(run.Folder.LastCheckpointPath).Select(e => e.Name).ToList();
            Assert.That(entries, Does.Contain("method.adapter.weight"));
        }
    }

    [Test]
    public void ATeacherTrainedForAnotherTargetIsRefused()
    {
        var store = ExperimentFixture.NewStore();
        var teacherSpec = ExperimentFixture.Tiny("enet") with { Schedule = ExperimentFixture.Tiny().Schedule with { Epochs = 1 } };
        var teacher = new Trainer(PreparedRun.Prepare(teacherSpec, store, ExperimentFixture.DataDir), new TrainerOptions { Workers = 0 }).Train();
        var spec = SpecOverrides.Apply(ExperimentFixture.Tiny(), ["kind=distill", $"teacher={teacher.RunId}", "method.name=affinity-kd", "data.split.target=S3"]);
        var e = Assert.Throws<ArgumentException>(() => PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir))!;
        Assert.That(e.Message, Does.StartWith("teacher:").And.Contain("has seen this run's test site"));
    }
}

public class PrecisionTests
{
    [Test]
    public void Bf16AutocastTrainsToo_AndChangesTheNumbers()
    {
        // bf16 autocast is meant for CUDA; libtorch's CPU autocast runs the same code path, so it is tested here.
        var spec = ExperimentFixture.Tiny() with { Schedule = ExperimentFixture.Tiny().Schedule with { Epochs = 1 } };
        var store = ExperimentFixture.NewStore();
        var options = new TrainerOptions { Workers = 0 };
        var full = new Trainer(PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir), options).Train();
        var half = new Trainer(PreparedRun.Prepare(spec with { Precision = "bf16" }, store, ExperimentFixture.DataDir), options).Train();
        Assert.That(half.RunId, Is.Not.EqualTo(full.RunId), "precision is part of the spec");
        var a = File.ReadAllLines(store.Folder(full.RunId).StepLogPath)[1].Split(',')[3];
        var b = File.ReadAllLines(store.Folder(half.RunId).StepLogPath)[1].Split(',')[3];
        Assert.That(b, Is.Not.EqualTo(a), "the first loss differs in bf16");
        Assert.That(double.Parse(b, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(double.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).Within(0.05));
        Assert.That(half.Metrics!.Cases.All(c => c.Dice is >= 0 and <= 1));
    }
}
