using MedDistill.Distillation.AffinityKd;

namespace MedDistill.Distillation.Tests;

public class LogitsDistillationTests
{
    private static readonly double Ln3 = Math.Log(3);

    // One pixel: student logits (0, 0) → p_s = (1/2, 1/2); teacher (ln 3, 0) → p_t = (3/4, 1/4).
    private static Tensor Student() => tensor(new[] { 0.0, 0.0 }, 1, 2, 1, 1);
    private static Tensor Teacher() => tensor(new[] { Ln3, 0.0 }, 1, 2, 1, 1);

    [Test]
    public void DirectionByHand()
    {
        using var scope = NewDisposeScope();
        // KL(p_s ‖ p_t) = ½ ln(½ / ¾) + ½ ln(½ / ¼) = ½ ln(4/3); KL(p_t ‖ p_s) = ¾ ln(3/2) + ¼ ln(1/2).
        double studentFirst = 0.5 * Math.Log(4.0 / 3);
        double teacherFirst = 0.75 * Math.Log(1.5) + 0.25 * Math.Log(0.5);
        Assert.That(new LogitsDistillation().Compute(Student(), Teacher()).item<double>(), Is.EqualTo(studentFirst).Within(1e-12));
        var reverse = new LogitsDistillation(new() { Direction = KlDirection.TeacherToStudent });
        Assert.That(reverse.Compute(Student(), Teacher()).item<double>(), Is.EqualTo(teacherFirst).Within(1e-12));
        Assert.That(studentFirst, Is.Not.EqualTo(teacherFirst).Within(1e-3), "the example must tell the directions apart");
    }

    [Test]
    public void SingleChannelLogitsAreBinary()
    {
        using var scope = NewDisposeScope();
        // z_s = 0 → (1 − σ, σ) = (1/2, 1/2); z_t = ln 3 → (1/4, 3/4): KL(p_s ‖ p_t) = ½ ln(½ / ¼) + ½ ln(½ / ¾) = ½ ln(4/3).
        var s = tensor(new[] { 0.0 }, 1, 1, 1, 1);
        var t = tensor(new[] { Ln3 }, 1, 1, 1, 1);
        Assert.That(new LogitsDistillation().Compute(s, t).item<double>(), Is.EqualTo(0.5 * Math.Log(4.0 / 3)).Within(1e-12));
    }

    [Test]
    public void TemperatureSoftensAndScalesByTSquared()
    {
        using var scope = NewDisposeScope();
        // T = 2: teacher logits (ln 3 / 2, 0) → p_t = (√3, 1)/(√3 + 1); the student stays uniform; the KL is multiplied by 4.
        double r = Math.Sqrt(3);
        double[] pt = [r / (r + 1), 1 / (r + 1)];
        double kl = 0.5 * Math.Log(0.5 / pt[0]) + 0.5 * Math.Log(0.5 / pt[1]);
        var loss = new LogitsDistillation(new() { Temperature = 2 });
        Assert.That(loss.Compute(Student(), Teacher()).item<double>(), Is.EqualTo(4 * kl).Within(1e-12));
    }

    [TestCase(1.0, KlDirection.StudentToTeacher)]
    [TestCase(1.0, KlDirection.TeacherToStudent)]
    [TestCase(3.0, KlDirection.StudentToTeacher)]
    public void MatchesLoopReference(double temperature, KlDirection direction)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var s = randn([2, 3, 2, 3], ScalarType.Float64).mul(2.0);
        var t = randn([2, 3, 2, 3], ScalarType.Float64).mul(2.0);
        var loss = new LogitsDistillation(new() { Temperature = temperature, Direction = direction });
        double expected = Reference.LogitsKl(Reference.Of(s), Reference.Of(t), temperature, direction == KlDirection.StudentToTeacher);
        Assert.That(loss.Compute(s, t).item<double>(), Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void SmallerTeacherLogitsAreResizedToTheStudent()
    {
        using var scope = NewDisposeScope();
        // A 1×1 teacher map resized bilinearly to 2×3 is constant, so every student pixel is compared with (3/4, 1/4).
        manual_seed(4);
        var s = randn([1, 2, 2, 3], ScalarType.Float64);
        var m = Reference.Of(s);
        double expected = 0;
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 3; x++)
                expected += Reference.Kl(Reference.Softmax(m.Pixel(0, y, x)), [0.75, 0.25]);
        Assert.That(new LogitsDistillation().Compute(s, Teacher()).item<double>(), Is.EqualTo(expected / 6).Within(1e-12));
    }

    [Test]
    public void GradientsReachOnlyTheStudent()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        var s = randn([2, 3, 2, 3], ScalarType.Float64);
        var t = randn([2, 3, 2, 3], ScalarType.Float64);
        foreach (var direction in new[] { KlDirection.StudentToTeacher, KlDirection.TeacherToStudent })
        {
            var loss = new LogitsDistillation(new() { Temperature = 2, Direction = direction });
            GradCheck.Inputs(x => loss.Compute(x[0], x[1]), [s, t], checkInput: [true, false]);
        }
        var teacher = t.detach().requires_grad_();
        var student = s.detach().requires_grad_();
        new LogitsDistillation().Compute(student, teacher).backward();
        Assert.That(teacher.grad, Is.Null, "the teacher is a target");
        Assert.That(student.grad, Is.Not.Null);
    }

    [Test]
    public void RejectsBadInput()
    {
        Assert.Throws<ArgumentException>(() => new LogitsDistillation(new() { Temperature = 0 }));
        Assert.Throws<ArgumentException>(() => new LogitsDistillation(new() { Direction = (KlDirection)7 }));
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => new LogitsDistillation().Compute(Student(), zeros(1, 3, 1, 1)));
        Assert.Throws<ArgumentException>(() => new LogitsDistillation().Compute(Student(), zeros(2, 2, 1, 1)));
    }
}
