using MedDistill.Distillation.AffinityKd;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Distillation.Gkd;

/// <summary>
/// Our reconstruction of GKD without the student's segmentation loss: terms <c>intra</c>, <c>inter</c>, <c>cross</c>
/// (restricted to <see cref="GkdOptions.Terms"/>, in that order) and then <c>act</c>. Both networks' <see cref="GkdOptions.Tap"/>
/// maps pass through their MSAN header (TAN, SAN: <see cref="MsanHeader"/>) to semantic vectors.
/// <list type="bullet">
/// <item><c>act</c>: MSE(F̂_T, F_T) + MSE(F̂_S, F_S) + α·MSE(v_S, v_T), see <see cref="GkdLosses.Act"/>.</item>
/// <item><c>intra</c>, <c>inter</c> (DCGD): K photometric views per image through both networks; graphs of the
/// L2-normalised vectors, student aligned to teacher by KL.</item>
/// <item><c>cross</c> (DICD): the student's decoder continues from Restore_S(v_T), the teacher's from Restore_T(v_S); both
/// predictions are supervised by the teacher's own.</item>
/// </list>
/// The abstract freezes the pre-trained teacher and MSAN while the student is distilled. In one run, TAN is trained only by
/// its own reconstruction: every other use of the teacher's vectors is detached and DICD's Restore_T runs on detached
/// weights, so the student never drags the teacher's semantic space; the teacher's parameters are switched off for the
/// exchanged forward, so they get no gradient even if the caller left them trainable.
/// <para>
/// Needs the batch's image (<see cref="IInputAware"/>). Extra work per step, on top of the trainer's student and teacher
/// passes over the N images: DCGD forwards the student (with gradients) and the teacher (no_grad) over N·K views; DICD
/// forwards the student over N images (with gradients) and the teacher over N images (gradients to its input only). With
/// the defaults (K = 2) the student runs 4 forwards and 4 backwards' worth of images per N, the teacher 4 forwards and one
/// input-gradient backward. The networks keep their modes: the trainer's student trains (its BatchNorm statistics also
/// see the views), its teacher is in eval mode.
/// </para>
/// </summary>
public sealed class GkdMethod : IDistillationMethod, IInputAware
{
    public const string MethodName = "gkd";

    private readonly SegmentationModel student;
    private readonly SegmentationModel teacher;
    private readonly GkdModules modules;
    private Tensor? image;

    /// <summary>
    /// Builds the method for this pair: probes both networks' tap channel counts once (eval, no_grad, modes restored) and
    /// puts the headers on the student's device and dtype.
    /// </summary>
    public GkdMethod(GkdOptions? options, SegmentationModel student, SegmentationModel teacher)
    {
        ArgumentNullException.ThrowIfNull(student);
        ArgumentNullException.ThrowIfNull(teacher);
        Options = options ?? new GkdOptions();
        Options.Validate();
        this.student = student;
        this.teacher = teacher;
        var o = Options;
        long cs = KernelMatrixDistillation.ProbeChannels(student, o.Tap);
        long ct = KernelMatrixDistillation.ProbeChannels(teacher, o.Tap);
        var first = student.parameters().FirstOrDefault();
        modules = new GkdModules(
            new MsanHeader(ct, o.SemanticDim, o.Grid, o.Hidden, first?.device, first?.dtype),
            new MsanHeader(cs, o.SemanticDim, o.Grid, o.Hidden, first?.device, first?.dtype));
        StudentTaps = [o.Tap];
        TeacherTaps = [o.Tap];
        TermNames = GkdTermNames.Returned(o.Terms);
    }

    public GkdOptions Options { get; }
    public string Name => MethodName;
    public IReadOnlyList<string> StudentTaps { get; }
    public IReadOnlyList<string> TeacherTaps { get; }

    /// <summary>The names <see cref="Compute"/> returns, in order.</summary>
    public IReadOnlyList<string> TermNames { get; }

    /// <summary>TAN, the teacher's header.</summary>
    public MsanHeader Tan => modules.Tan;

    /// <summary>SAN, the student's header.</summary>
    public MsanHeader San => modules.San;

    public nn.Module? TrainableModule => modules;
    public IEnumerable<nn.Parameter> TrainableParameters() => modules.parameters();

    /// <summary>The step's input batch; the next <see cref="Compute"/> uses it once.</summary>
    public void SetInput(Tensor image) => this.image = image ?? throw new ArgumentNullException(nameof(image));

    public IReadOnlyList<LossTerm> Compute(FeatureMaps studentMaps, FeatureMaps teacherMaps, Tensor label)
    {
        ArgumentNullException.ThrowIfNull(studentMaps);
        ArgumentNullException.ThrowIfNull(teacherMaps);
        var input = image ?? throw new InvalidOperationException(
            $"{MethodName}: no input batch; call SetInput ({nameof(IInputAware)}) with the step's image before Compute");
        if (input.size(0) != studentMaps.Logits.size(0))
            throw new ArgumentException($"{MethodName}: the input batch has {input.size(0)} images, the maps {studentMaps.Logits.size(0)}; SetInput was given another step's batch");
        // Consumed here: the batch belongs to this step's dispose scope and must not be reused by the next Compute.
        image = null;
        var o = Options;
        // In the headers' dtype: under bf16 autocast the trainer's maps are bf16, the headers (and these losses) float32.
        var dtype = San.Dtype;
        var fs = studentMaps[o.Tap].to(dtype);
        var ft = teacherMaps[o.Tap].detach().to(dtype);

        // TAN learns only here, from the teacher's detached map; everything downstream reads its vector detached.
        var vtOwn = Tan.Align(ft);
        var vt = vtOwn.detach();
        var vs = San.Align(fs);
        // ACT trains the headers; unless asked, SAN reads the student's map detached so ACT never moves the student.
        var fsAct = o.ActTrainsStudent ? fs : fs.detach();
        var vsAct = o.ActTrainsStudent ? vs : San.Align(fsAct);
        var act = GkdLosses.Act(Tan.Restore(vtOwn, ft.size(2), ft.size(3)), ft, San.Restore(vsAct, fs.size(2), fs.size(3)), fsAct, vsAct, vt, o.ActAlign);

        var terms = new List<LossTerm>(4);
        if (Uses(GkdTerms.Intra) || Uses(GkdTerms.Inter))
        {
            var (studentViews, teacherViews) = ViewVectors(input);
            if (Uses(GkdTerms.Intra))
                terms.Add(new LossTerm(GkdTermNames.Intra, o.IntraWeight, GkdLosses.IntraGraph(vs, studentViews, vt, teacherViews, o.Tau)));
            if (Uses(GkdTerms.Inter))
                terms.Add(new LossTerm(GkdTermNames.Inter, o.InterWeight, GkdLosses.InterGraph(studentViews, teacherViews, o.Tau)));
        }
        if (Uses(GkdTerms.Cross))
            terms.Add(new LossTerm(GkdTermNames.Cross, o.CrossWeight, Cross(input, teacherMaps.Logits, vs, vt, fs, ft)));
        terms.Add(new LossTerm(GkdTermNames.Act, o.ActWeight, act));
        return terms;
    }

    /// <summary>The student's (with gradients) and the teacher's (none) semantic vectors of K augmented views per image.</summary>
    private (Tensor Student, Tensor Teacher) ViewVectors(Tensor input)
    {
        var o = Options;
        var views = o.Augmentation.Views(input.detach(), o.Views);
        var studentVectors = San.Align(student.forward_features(views, o.Tap)[o.Tap]);
        Tensor teacherVectors;
        using (no_grad())
        {
            var teacherViews = teacher.forward_features(views.to(TeacherDtype), o.Tap)[o.Tap];
            teacherVectors = Tan.Align(teacherViews.to(studentVectors.dtype));
        }
        return (studentVectors, teacherVectors);
    }

    /// <summary>
    /// DICD: the student's decoder from Restore_S(v_T) (trains SAN's restore and the student), the teacher's from
    /// Restore_T(v_S) on frozen weights (trains SAN's align and the student's encoder through v_S); both against z_T.
    /// </summary>
    private Tensor Cross(Tensor input, Tensor teacherLogits, Tensor vs, Tensor vt, Tensor fs, Tensor ft)
    {
        var o = Options;
        var zt = teacherLogits.detach().to(fs.dtype);
        Tensor? loss = null;
        if (o.CrossPaths != CrossPaths.Teacher)
        {
            var studentCross = student.forward_substituted(input, o.Tap, San.Restore(vt, fs.size(2), fs.size(3))).Logits;
            loss = GkdLosses.Cross(studentCross.to(zt.dtype), zt, o.CrossTarget, o.CrossTemperature);
        }
        if (o.CrossPaths == CrossPaths.Student) return loss!;
        Tensor teacherCross;
        var trainable = teacher.parameters().Where(p => p.requires_grad).ToList();
        try
        {
            foreach (var p in trainable) p.requires_grad_(false);
            var restored = Tan.Restore(vs, ft.size(2), ft.size(3), frozen: true).to(TeacherDtype);
            teacherCross = teacher.forward_substituted(input.to(TeacherDtype), o.Tap, restored).Logits;
        }
        finally
        {
            foreach (var p in trainable) p.requires_grad_(true);
        }
        var teacherLoss = GkdLosses.Cross(teacherCross.to(zt.dtype), zt, o.CrossTarget, o.CrossTemperature);
        return loss is null ? teacherLoss : loss.add(teacherLoss);
    }

    private ScalarType TeacherDtype => teacher.parameters().FirstOrDefault()?.dtype ?? ScalarType.Float32;

    private bool Uses(GkdTerms term) => (Options.Terms & term) != 0;

    public void Dispose() => modules.Dispose();
}
