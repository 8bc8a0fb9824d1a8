using MedDistill.Distillation.AffinityKd;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.Emkd;

/// <summary>
/// The EMKD baseline without its segmentation loss: terms <c>pmd</c>, <c>imd</c>, <c>rad</c> (IMD and RAD summed over the
/// tap pairs). Nothing is trained besides the student.
/// </summary>
public sealed class EmkdMethod : IDistillationMethod
{
    public const string MethodName = "emkd";
    public const string PixelTerm = "pmd";
    public const string ImportanceMapTerm = "imd";
    public const string RegionAffinityTerm = "rad";

    private readonly LogitsDistillation pixel;
    private readonly ImportanceMapDistillation importanceMap;
    private readonly RegionAffinityDistillation regionAffinity = new();

    public EmkdMethod(EmkdOptions? options = null)
    {
        Options = options ?? new EmkdOptions();
        Options.Validate();
        pixel = new LogitsDistillation(Options.PixelDistillation);
        importanceMap = new ImportanceMapDistillation(Options.Power);
        StudentTaps = Options.TapPairs.Select(p => p.Student).Distinct().ToArray();
        TeacherTaps = Options.TapPairs.Select(p => p.Teacher).Distinct().ToArray();
    }

    /// <summary>As <see cref="EmkdMethod(EmkdOptions)"/>, and checks that both networks have the configured taps.</summary>
    public EmkdMethod(EmkdOptions? options, SegmentationModel student, SegmentationModel teacher) : this(options)
    {
        CheckTaps(student, StudentTaps, "student");
        CheckTaps(teacher, TeacherTaps, "teacher");
    }

    public EmkdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }
    public IEnumerable<nn.Parameter> TrainableParameters() => [];
    public nn.Module? TrainableModule => null;

    public IReadOnlyList<LossTerm> Compute(FeatureMaps student, FeatureMaps teacher, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        var pmd = pixel.Compute(student.Logits, teacher.Logits);
        Tensor? imd = null, rad = null;
        foreach (var pair in Options.TapPairs)
        {
            var fs = student[pair.Student];
            var ft = teacher[pair.Teacher];
            var i = importanceMap.Compute(fs, ft);
            var r = regionAffinity.Compute(fs, ft, label);
            imd = imd is null ? i : imd.add(i);
            rad = rad is null ? r : rad.add(r);
        }
        return
        [
            new LossTerm(PixelTerm, Options.PixelWeight, pmd),
            new LossTerm(ImportanceMapTerm, Options.ImportanceMapWeight, imd!),
            new LossTerm(RegionAffinityTerm, Options.RegionAffinityWeight, rad!),
        ];
    }

    public void Dispose() { }

    private static void CheckTaps(SegmentationModel model, IEnumerable<string> taps, string role)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var tap in taps)
            if (!model.TapNames.Contains(tap))
                throw new ArgumentException($"EMKD: {role} {model.Name} has no feature tap '{tap}'; it has: {string.Join(", ", model.TapNames)}");
    }
}
