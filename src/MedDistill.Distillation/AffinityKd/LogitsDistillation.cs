using MedDistill.Torch;

namespace MedDistill.Distillation.AffinityKd;

/// <summary>Which way round the pixel-wise KL divergence of the logits module is taken.</summary>
public enum KlDirection
{
    /// <summary>KL(p_s ‖ p_t) = Σ_c p_s·(log p_s − log p_t): the student first, as eq. 7 of Affinity-KD is written.</summary>
    StudentToTeacher,

    /// <summary>KL(p_t ‖ p_s) = Σ_c p_t·(log p_t − log p_s): Hinton's direction (the teacher is the target distribution).</summary>
    TeacherToStudent,
}

/// <summary>Settings of the logits module (LM, Affinity-KD eq. 7).</summary>
public sealed record LogitsDistillationOptions
{
    /// <summary>
    /// Softmax temperature T (default 1: the paper mentions none). Both logits are divided by T and the loss is multiplied by
    /// T² so its gradient keeps the same scale (Hinton et al.).
    /// </summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Direction of the KL divergence (default <see cref="KlDirection.StudentToTeacher"/>, as eq. 7 is written).</summary>
    public KlDirection Direction { get; init; } = KlDirection.StudentToTeacher;

    public void Validate()
    {
        TensorChecks.Finite(Temperature, nameof(Temperature), nameof(LogitsDistillationOptions), positive: true);
        if (!Enum.IsDefined(Direction)) throw new ArgumentException($"{nameof(LogitsDistillationOptions)}: unknown KL direction {Direction}");
    }
}

/// <summary>
/// The logits module: T²·(mean over the N·H·W pixels of the KL divergence between the student's and the teacher's class
/// distributions softmax(z/T)). Teacher logits of another spatial size are resized bilinearly (align_corners=false) to the
/// student's. Single-channel (binary) logits z stand for the two classes (0, z), i.e. (1 − σ(z), σ(z)). The teacher side is
/// detached: it is a target and never receives gradient.
/// <para>EMKD's pixel-wise distillation (PMD) is this loss with T = 4 and <see cref="KlDirection.TeacherToStudent"/>.</para>
/// </summary>
public sealed class LogitsDistillation
{
    public LogitsDistillation(LogitsDistillationOptions? options = null)
    {
        Options = options ?? new LogitsDistillationOptions();
        Options.Validate();
    }

    public LogitsDistillationOptions Options { get; }

    public Tensor Compute(Tensor studentLogits, Tensor teacherLogits)
    {
        const string name = nameof(LogitsDistillation);
        var s = TensorChecks.Map(studentLogits, nameof(studentLogits), name);
        var t = TensorChecks.Map(teacherLogits, nameof(teacherLogits), name);
        TensorChecks.SameBatch(s, t, name);
        if (s[1] != t[1]) throw new ArgumentException($"{name}: student has {s[1]} classes, teacher {t[1]}");

        var teacher = TensorChecks.AsClassLogits(TensorChecks.ResizeTo(teacherLogits.detach(), s[2], s[3]));
        double temperature = Options.Temperature;
        var student = TensorChecks.AsClassLogits(studentLogits);
        if (temperature != 1.0)
        {
            student = student.div(temperature);
            teacher = teacher.div(temperature);
        }
        var logStudent = student.log_softmax(1);
        var logTeacher = teacher.log_softmax(1);
        var (logP, logQ) = Options.Direction == KlDirection.StudentToTeacher ? (logStudent, logTeacher) : (logTeacher, logStudent);
        // Σ over classes and pixels at once, then divided by the pixel count: the mean over pixels of each pixel's KL.
        var klSum = logP.exp().mul(logP.sub(logQ)).sum();
        double scale = temperature * temperature / (s[0] * s[2] * s[3]);
        return klSum.mul(scale);
    }
}
