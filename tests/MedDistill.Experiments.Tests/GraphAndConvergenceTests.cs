using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

/// <summary>The plateau criterion on hand-made curves, the whole graph's progress line, and the profiles' plans.</summary>
public class GraphAndConvergenceTests
{
    [Test]
    public void Convergence_IsAPlateauOfTheBestValidationDiceOverTheSecondHalf()
    {
        // 6 points, first half = 3: best 0.80 there, 0.815 overall: +0.015 ≤ 0.02.
        var flat = Convergence.Of([0.5, 0.7, 0.80, 0.79, 0.815, 0.81]);
        Assert.That((flat.Converged, flat.BestEpoch, flat.FirstHalfBest), Is.EqualTo((true, 5, 0.80)));
        // Still rising: +0.10 in the second half.
        Assert.That(Convergence.Of([0.3, 0.5, 0.6, 0.65, 0.68, 0.70]).Converged, Is.False);
        // Odd count: the first half is the first ⌈5/2⌉ = 3 points.
        Assert.That(Convergence.Of([0.1, 0.2, 0.9, 0.91, 0.92]).Converged, Is.True);
        Assert.That(Convergence.Of([0.1, 0.2, 0.88, 0.91, 0.92]).Converged, Is.False, "0.04 over the first half's 0.88");
        // Exactly the tolerance counts as converged.
        Assert.That(Convergence.Of([0.5, 0.5, 0.5, 0.52]).Converged, Is.True);
        // Too few points to show a plateau.
        Assert.That(Convergence.Of([0.9, 0.9, 0.9]).Converged, Is.False);
        Assert.That(Convergence.Of([]).Epochs, Is.Zero);
    }

    [Test]
    public void ProgressLine_CountsFinishedRuns_AndEstimatesFromThisInvocationsDurations()
    {
        var store = ExperimentFixture.NewStore();
        var started = DateTime.UtcNow.AddMinutes(-10);
        var runs = new List<GraphRun>
        {
            new("00000000000000a1", "teacher", "teacher/a"), new("00000000000000a2", "teacher", "teacher/b"),
            new("00000000000000b1", "student", "student/a"), new("00000000000000b2", "student", "student/b"), new("00000000000000b3", "student", "student/c"),
        };
        var graph = new GraphManifest(started, 2, runs);
        Assert.That(GraphProgress.Line(graph, store, started.AddMinutes(10)),
            Is.EqualTo("graph: 0/5 runs done (0 in this invocation), 10:00 elapsed, 5 to go (an estimate follows the first finished run)"));

        void Finish(string id, double seconds)
        {
            var folder = store.Folder(id);
            Directory.CreateDirectory(folder.Path);
            File.WriteAllText(folder.ModelPath, "");
            File.WriteAllText(folder.MetricsPath, "{}");
            folder.WriteState(new RunState { Status = RunStatus.Finished, WallSeconds = seconds });
        }
        Finish("00000000000000a1", 300);
        Finish("00000000000000b1", 60);
        // Left: one teacher (300 s) and two students (60 s each) over 2 workers: 210 s.
        Assert.That(GraphProgress.Line(graph, store, started.AddMinutes(10)),
            Is.EqualTo("graph: 2/5 runs done (2 in this invocation), 10:00 elapsed, about 3:30 left"));
        Finish("00000000000000a2", 1); Finish("00000000000000b2", 1); Finish("00000000000000b3", 1);
        Assert.That(GraphProgress.Line(graph, store, started.AddHours(1.5)), Does.EndWith("1:30:00 elapsed, all done"));
    }

    [Test]
    public void ScheduleOrder_PutsEachTargetsTeachersFirst_ThenItsRunsWithoutTeacher_ThenItsStudents()
    {
        var profile = AffinityKdExperiment.SmokeProfile with { Targets = ["S1", "S2"] };
        var plan = AffinityKdExperiment.Plan(profile, "recipe", ModelRegistry.Names);
        var order = GraphSchedule.Order(plan);
        Assert.That(order.Select(r => r.Id).Order(), Is.EqualTo(plan.Select(r => r.Id).Order()), "the same runs");
        Assert.That(order.Select(r => r.Spec.Data.Split.Target), Is.Ordered, "target by target");
        foreach (var target in profile.Targets)
        {
            var mine = order.Where(r => r.Spec.Data.Split.Target == target).ToList();
            Assert.That(mine.Take(2).All(r => r.IsTeacher), $"{target}: teachers first");
            Assert.That(mine.Skip(2).Take(3).All(r => r.TeacherKey is null && !r.IsTeacher), $"{target}: then the runs without a teacher");
            foreach (var (run, i) in mine.Select((r, i) => (r, i)).Where(x => x.r.TeacherKey is not null))
                Assert.That(mine.FindIndex(r => r.Key == run.TeacherKey), Is.LessThan(i), $"{run.Key} after its teacher");
        }
    }

    [Test]
    public void Profiles_PhantomConvergesOnTheRealCaseCounts_SmokeIsTiny_AndTeachersMayHaveTheirOwnSchedule()
    {
        var phantom = AffinityKdExperiment.Profile("phantom");
        var smoke = AffinityKdExperiment.Profile("smoke");
        Assert.That(smoke.Schedule.Iterations, Is.LessThanOrEqualTo(5));
        Assert.That(smoke.Description, Does.Contain("not a reproduction"));
        var plan = AffinityKdExperiment.Plan(phantom, "recipe", ModelRegistry.Names);
        Assert.That(plan, Has.Count.EqualTo(114), "12 teachers, 18 w/o, 36 Affinity-KD, EMKD and MSKD on 6 targets, 36 ablation");
        var teacher = plan.First(r => r.IsTeacher).Spec.Schedule;
        var student = plan.First(r => !r.IsTeacher).Spec.Schedule;
        Assert.That(teacher, Is.EqualTo(phantom.TeacherSchedule));
        Assert.That(student, Is.EqualTo(phantom.Schedule));
        // Two whole CyclicLR cycles, so the second half of a run is a whole cycle the plateau test can judge.
        Assert.That(student.Iterations, Is.EqualTo(4 * student.CyclicStepSize));
        Assert.That(teacher.Iterations, Is.EqualTo(4 * teacher.CyclicStepSize));
        Assert.That(student.Iterations / student.ValidateEvery, Is.GreaterThanOrEqualTo(2 * Convergence.MinEpochs));
    }
}
