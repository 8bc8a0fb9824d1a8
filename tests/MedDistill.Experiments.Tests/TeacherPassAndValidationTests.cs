using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;

namespace MedDistill.Experiments.Tests;

/// <summary>
/// The shared teacher pass (a student's result must not depend on whether the teacher's maps were read or computed) and
/// validation every N steps (its curve, and a resume that still ends with the same bytes).
/// </summary>
public class TeacherPassAndValidationTests
{
    private static readonly TrainerOptions Options = new() { Workers = 0, CheckpointEvery = 2 };

    private static (RunStore Store, string TeacherId) Teacher()
    {
        var store = ExperimentFixture.NewStore();
        var teacherSpec = ExperimentFixture.Tiny("unet", 0.125) with { Schedule = ExperimentFixture.Tiny().Schedule with { Epochs = 1 } };
        var teacher = new Trainer(PreparedRun.Prepare(teacherSpec, store, ExperimentFixture.DataDir), Options).Train();
        return (store, teacher.RunId);
    }

    private static RunSpec Student(string teacherId, string method = "affinity-kd", string model = "enet") =>
        SpecOverrides.Apply(ExperimentFixture.Tiny(model), ["kind=distill", $"teacher={teacherId}", $"method.name={method}"]);

    private static string[] Files(RunStore store, string teacherId) =>
        Directory.GetFiles(Path.Combine(store.Folder(teacherId).Path, TeacherPassCache.FolderName), "*.safetensors", SearchOption.AllDirectories);

    [Test]
    public void StudentsGetTheSameBytesWhetherTheTeacherPassIsComputedStoredOrRead()
    {
        var (store, teacherId) = Teacher();
        var spec = Student(teacherId);

        // Without the cache: the teacher's pass runs at every step and nothing is written beside the teacher.
        var plain = new Trainer(PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir), Options with { ShareTeacherPass = false }).Train();
        var reference = File.ReadAllBytes(store.Folder(plain.RunId).ModelPath);
        var referenceLog = File.ReadAllText(store.Folder(plain.RunId).StepLogPath);
        Assert.That(Directory.Exists(Path.Combine(store.Folder(teacherId).Path, TeacherPassCache.FolderName)), Is.False);

        // With it, twice: the first run computes and stores every step, the second reads every step.
        for (int pass = 0; pass < 2; pass++)
        {
            Directory.Delete(store.Folder(plain.RunId).Path, recursive: true);
            var cached = new Trainer(PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir), Options).Train();
            Assert.That(File.ReadAllBytes(store.Folder(cached.RunId).ModelPath), Is.EqualTo(reference), $"pass {pass}: same weights");
            Assert.That(File.ReadAllText(store.Folder(cached.RunId).StepLogPath), Is.EqualTo(referenceLog), $"pass {pass}: same losses");
            Assert.That(Files(store, teacherId), Has.Length.EqualTo(6), "one file per step of the 6");
        }
    }

    [Test]
    public void AStudentOfAnotherMethodAddsItsTapsToTheStoredSteps_AndAnotherSeedGetsItsOwnCache()
    {
        var (store, teacherId) = Teacher();
        new Trainer(PreparedRun.Prepare(Student(teacherId, "affinity-kd"), store, ExperimentFixture.DataDir), Options).Train();
        var emkd = Student(teacherId, "emkd");
        var withCache = new Trainer(PreparedRun.Prepare(emkd, store, ExperimentFixture.DataDir), Options).Train();
        var emkdBytes = File.ReadAllBytes(store.Folder(withCache.RunId).ModelPath);
        Directory.Delete(store.Folder(withCache.RunId).Path, recursive: true);
        var without = new Trainer(PreparedRun.Prepare(emkd, store, ExperimentFixture.DataDir), Options with { ShareTeacherPass = false }).Train();
        Assert.That(File.ReadAllBytes(store.Folder(without.RunId).ModelPath), Is.EqualTo(emkdBytes));

        var stored = MedDistill.Torch.Serialization.Safetensors.ReadEntries(Files(store, teacherId)[0]).Select(e => e.Name).ToList();
        Assert.That(stored, Does.Contain("logits").And.Contain("tap.encoder").And.Contain("tap.decoder"), "the union of both methods' taps");

        var otherSeed = Student(teacherId) with { Seed = 6 };
        Assert.That(TeacherPassCache.Key(otherSeed, teacherId, MedDistill.Torch.Device.CPU),
            Is.Not.EqualTo(TeacherPassCache.Key(Student(teacherId), teacherId, MedDistill.Torch.Device.CPU)), "other batches, other cache");
        Assert.That(TeacherPassCache.Key(Student(teacherId, "emkd", "erfnet"), teacherId, MedDistill.Torch.Device.CPU),
            Is.EqualTo(TeacherPassCache.Key(Student(teacherId), teacherId, MedDistill.Torch.Device.CPU)), "network and method do not change the batches");
    }

    [Test]
    public void AnUnreadableStoredStepIsRecomputedAndReplaced()
    {
        var (store, teacherId) = Teacher();
        var spec = Student(teacherId);
        var first = new Trainer(PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir), Options).Train();
        var reference = File.ReadAllBytes(store.Folder(first.RunId).ModelPath);
        var victim = Files(store, teacherId).Order().First();
        File.WriteAllBytes(victim, [1, 2, 3]);
        Directory.Delete(store.Folder(first.RunId).Path, recursive: true);
        var again = new Trainer(PreparedRun.Prepare(spec, store, ExperimentFixture.DataDir), Options).Train();
        Assert.That(File.ReadAllBytes(store.Folder(again.RunId).ModelPath), Is.EqualTo(reference));
        Assert.That(new FileInfo(victim).Length, Is.GreaterThan(3), "rewritten whole");
    }

    [Test]
    public void ValidationEveryNSteps_WritesACurveAndResumesToTheSameBytes()
    {
        var spec = ExperimentFixture.Tiny() with { Schedule = ExperimentFixture.Tiny().Schedule with { ValidateEvery = 2, Epochs = 2 } };
        var whole = ExperimentFixture.NewStore();
        var first = new Trainer(PreparedRun.Prepare(spec, whole, ExperimentFixture.DataDir), Options).Train();
        var folder = whole.Folder(first.RunId);
        var curve = Convergence.ValidationCurve(folder);
        Assert.That(curve.Select(p => p.Step), Is.EqualTo(new long[] { 2, 4, 6 }), "every 2 of the 6 steps");
        Assert.That(File.ReadLines(folder.EpochLogPath).Skip(1).Select(l => l.Split(',')[3]), Has.All.Empty, "no validation at epoch ends");
        Assert.That(curve.Max(p => p.Dice), Is.EqualTo(folder.ReadState().BestValidationDice), "the best point is the selected weights'");

        var broken = ExperimentFixture.NewStore();
        var killed = new Trainer(PreparedRun.Prepare(spec, broken, ExperimentFixture.DataDir), Options with { KillAfterStep = s => s == 5 }).Train();
        Assert.That(killed.Outcome, Is.EqualTo(TrainOutcome.Killed));
        new Trainer(PreparedRun.Prepare(spec, broken, ExperimentFixture.DataDir), Options).Train();
        var resumed = broken.Folder(first.RunId);
        Assert.That(File.ReadAllBytes(resumed.ModelPath), Is.EqualTo(File.ReadAllBytes(folder.ModelPath)));
        Assert.That(File.ReadAllText(resumed.ValidationLogPath), Is.EqualTo(File.ReadAllText(folder.ValidationLogPath)), "each validation logged once");
    }

    [Test]
    public void AZeroValidationIntervalIsRefusedNamingTheField()
    {
        var spec = ExperimentFixture.Tiny() with { Schedule = ExperimentFixture.Tiny().Schedule with { ValidateEvery = 0 } };
        var e = Assert.Throws<ArgumentException>(() => PreparedRun.Prepare(spec, ExperimentFixture.NewStore(), ExperimentFixture.DataDir));
        Assert.That(e!.Message, Does.Contain("schedule.validateEvery"));
    }
}
