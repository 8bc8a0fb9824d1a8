using MedDistill.Distillation.Gkd;
using MedDistill.Models;

namespace MedDistill.Distillation.Tests;

/// <summary>
/// GKD as a whole on a tiny U-Net teacher and ENet student at 32×32: header sizes, finite terms, the stop-gradients (the
/// teacher gets nothing, TAN learns only from act), determinism, and a few optimiser steps lowering the total.
/// </summary>
public class GkdMethodTests
{
    private static (SegmentationModel Student, SegmentationModel Teacher) Pair(bool freezeTeacher = true)
    {
        manual_seed(91);
        var teacher = ModelRegistry.Create("unet", new ModelOptions(1, 2, 0.125));
        var student = ModelRegistry.Create("enet", new ModelOptions(1, 2, 0.25));
        teacher.eval();
        if (freezeTeacher)
            foreach (var p in teacher.parameters()) p.requires_grad_(false);
        return (student, teacher);
    }

    private static (Tensor Image, Tensor Label) Batch()
    {
        manual_seed(92);
        return (randn(2, 1, 32, 32), randint(2, [2, 32, 32]));
    }

    /// <summary>The trainer's step: teacher under no_grad, student with gradients, SetInput, Compute.</summary>
    private static IReadOnlyList<LossTerm> Step(GkdMethod method, SegmentationModel student, SegmentationModel teacher, Tensor image, Tensor label)
    {
        FeatureMaps t;
        using (no_grad()) t = teacher.forward_features(image, [.. method.TeacherTaps]);
        var s = student.forward_features(image, [.. method.StudentTaps]);
        method.SetInput(image);
        return method.Compute(s, t, label);
    }

    [Test]
    public void HeadersAreSizedByProbingBothNetworks()
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        using (var method = new GkdMethod(new GkdOptions { SemanticDim = 8, Grid = 2, Hidden = 16 }, student, teacher))
        {
            using var scope = NewDisposeScope();
            Assert.That(method.Tan.Channels, Is.EqualTo(128), "U-Net at width 1/8: 1024/8 channels at the bottleneck");
            Assert.That(method.San.Channels, Is.EqualTo(32), "ENet at width 1/4: 128/4");
            var (image, _) = Batch();
            var fs = student.forward_features(image, SegmentationModel.EncoderTap)[SegmentationModel.EncoderTap];
            Assert.That(method.San.Align(fs).shape, Is.EqualTo(new long[] { 2, 8 }));
            Assert.That(method.San.Restore(method.San.Align(fs), fs.size(2), fs.size(3)).shape, Is.EqualTo(fs.shape));
            Assert.That(method.TrainableModule!.named_parameters().Select(p => p.name),
                Has.Some.StartsWith("tan.").And.Some.StartsWith("san."));
            Assert.That(method.StudentTaps, Is.EqualTo(new[] { "encoder" }));
            Assert.That(method.TeacherTaps, Is.EqualTo(new[] { "encoder" }));
        }
    }

    [Test]
    public void EveryTermIsFiniteAndTheTeacherGetsNoGradient()
    {
        // The teacher is left trainable on purpose: the method must keep its gradient out anyway.
        var (student, teacher) = Pair(freezeTeacher: false);
        using (student)
        using (teacher)
        using (var method = new GkdMethod(null, student, teacher))
        {
            using var scope = NewDisposeScope();
            var (image, label) = Batch();
            var terms = Step(method, student, teacher, image, label);
            Assert.That(terms.Select(t => t.Name), Is.EqualTo(new[] { "intra", "inter", "cross", "act" }));
            foreach (var term in terms)
            {
                Assert.That(term.Value.dim(), Is.EqualTo(0), term.Name);
                Assert.That(double.IsFinite(term.Value.item<float>()), term.Name);
                Assert.That(term.Value.item<float>(), Is.GreaterThanOrEqualTo(0f), term.Name);
            }
            LossTerms.Total(terms).backward();
            Assert.That(teacher.parameters().All(p => p.grad is null), "no gradient reaches the teacher");
            Assert.That(teacher.parameters().All(p => p.requires_grad), "the teacher's flags are restored");
            Assert.That(student.parameters().Count(p => p.grad is not null), Is.GreaterThan(student.parameters().Count() / 2));
            Assert.That(method.TrainableParameters().All(p => p.grad is not null), "both headers learn");
        }
    }

    [Test]
    public void TanLearnsOnlyFromItsOwnReconstruction()
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        using (var method = new GkdMethod(null, student, teacher))
        {
            using var scope = NewDisposeScope();
            var (image, label) = Batch();
            var terms = Step(method, student, teacher, image, label);
            LossTerms.Total(terms.Where(t => t.Name != GkdTermNames.Act)).backward();
            Assert.That(method.Tan.parameters().All(p => p.grad is null), "intra, inter and cross leave TAN alone");
            Assert.That(method.San.parameters().Any(p => p.grad is not null));
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ActMovesTheStudentOnlyWhenAsked(bool actTrainsStudent)
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        using (var method = new GkdMethod(new GkdOptions { ActTrainsStudent = actTrainsStudent }, student, teacher))
        {
            using var scope = NewDisposeScope();
            var (image, label) = Batch();
            var terms = Step(method, student, teacher, image, label);
            terms.Single(t => t.Name == GkdTermNames.Act).Value.backward();
            bool studentMoved = student.parameters().Any(p => p.grad is not null && p.grad.abs().sum().item<float>() > 0);
            Assert.That(studentMoved, Is.EqualTo(actTrainsStudent), "ACT's gradient reaches the student's network exactly when ActTrainsStudent");
            Assert.That(method.San.parameters().Any(p => p.grad is not null), "ACT always trains SAN");
            Assert.That(method.Tan.parameters().Any(p => p.grad is not null), "and TAN");
        }
    }

    [Test]
    public void TermsFollowTheOptions()
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        {
            using var scope = NewDisposeScope();
            var (image, label) = Batch();
            foreach (var row in new[] { "intra", "inter", "cross", "intra+inter" })
            {
                using var method = new GkdMethod(new GkdOptions { Terms = GkdTermNames.Parse(row), CrossTarget = CrossTarget.Hard }, student, teacher);
                var names = Step(method, student, teacher, image, label).Select(t => t.Name);
                Assert.That(names, Is.EqualTo(row.Split('+').Append("act")));
                Assert.That(method.TermNames, Is.EqualTo(names));
            }
        }
    }

    /// <summary>The cross term of both paths is the sum of the two single-path terms.</summary>
    [Test]
    public void CrossPathsSplitTheCrossTerm()
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        {
            using var scope = NewDisposeScope();
            var (image, label) = Batch();
            double Cross(CrossPaths paths)
            {
                manual_seed(95);  // the same header weights, then the same dropout masks
                using var method = new GkdMethod(new GkdOptions { Terms = GkdTerms.Cross, CrossPaths = paths }, student, teacher);
                return Step(method, student, teacher, image, label).Single(t => t.Name == GkdTermNames.Cross).Value.item<float>();
            }
            double both = Cross(CrossPaths.Both), studentPath = Cross(CrossPaths.Student), teacherPath = Cross(CrossPaths.Teacher);
            Assert.That(studentPath, Is.GreaterThan(0));
            Assert.That(teacherPath, Is.GreaterThan(0));
            Assert.That(both, Is.EqualTo(studentPath + teacherPath).Within(1e-5 * both));
        }
    }

    [Test]
    public void SameSeedSameTerms()
    {
        double[] Run()
        {
            var (student, teacher) = Pair();
            using (student)
            using (teacher)
            {
                manual_seed(93);
                using var method = new GkdMethod(null, student, teacher);
                using var scope = NewDisposeScope();
                var (image, label) = Batch();
                manual_seed(94);
                return Step(method, student, teacher, image, label).Select(t => (double)t.Value.item<float>()).ToArray();
            }
        }
        Assert.That(Run(), Is.EqualTo(Run()));
    }

    [Test]
    public void AFewOptimiserStepsLowerTheTotal()
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        using (var method = new GkdMethod(null, student, teacher))
        {
            using var optimizer = optim.Adam([.. student.parameters(), .. method.TrainableParameters()], 1e-3);
            var (image, label) = Batch();
            var totals = new List<double>();
            for (int step = 0; step < 8; step++)
            {
                using var scope = NewDisposeScope();
                manual_seed(95);  // the same views and dropout masks every step: only the weights change
                optimizer.zero_grad();
                var total = LossTerms.Total(Step(method, student, teacher, image, label));
                totals.Add(total.item<float>());
                total.backward();
                optimizer.step();
            }
            Assert.That(totals[^1], Is.LessThan(totals[0]), string.Join(", ", totals));
        }
    }

    [Test]
    public void ComputeNeedsTheInput()
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        using (var method = new GkdMethod(null, student, teacher))
        {
            using var scope = NewDisposeScope();
            var (image, label) = Batch();
            Step(method, student, teacher, image, label);
            var s = student.forward_features(image, "encoder");
            var t = teacher.forward_features(image, "encoder");
            Assert.That(() => method.Compute(s, t, label), Throws.InvalidOperationException.With.Message.Contain("SetInput"),
                "the input is used once: a second Compute without SetInput is an error");
            method.SetInput(image.narrow(0, 0, 1));
            Assert.That(() => method.Compute(s, t, label), Throws.ArgumentException.With.Message.Contain("1 images"));
        }
    }

    [Test]
    public void FactoryBuildsGkd()
    {
        var (student, teacher) = Pair();
        using (student)
        using (teacher)
        {
            using var method = DistillationMethods.Create("GKD", new DistillationOptions { Gkd = new GkdOptions { Views = 1 } }, student, teacher);
            Assert.That(method, Is.TypeOf<GkdMethod>());
            Assert.That(((GkdMethod)method).Options.Views, Is.EqualTo(1));
            Assert.That(DistillationMethods.IsSelfDistillation("gkd"), Is.False);
            Assert.That(() => DistillationMethods.Create("gkd", null, student, null), Throws.ArgumentNullException);
        }
    }
}
