using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using MedDistill.Distillation;
using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Baselines;
using MedDistill.Distillation.Losses;
using MedDistill.Experiments.Runs;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Experiments.Training;

/// <summary>
/// What a run minimises: the segmentation loss plus the distillation method's terms, built from the spec's
/// <c>loss</c> and <c>method</c> sections (option names are the options records' properties in camelCase, e.g.
/// <c>{"terms": "lm+aam", "affinity": {"margin": 2}}</c>; unknown names are errors).
/// </summary>
public sealed class Objective : IDisposable
{
    private readonly SegmentationLoss segmentation;
    private readonly IDistillationMethod method;

    private Objective(SegmentationLoss segmentation, IDistillationMethod method, IReadOnlyList<string> termNames)
    {
        this.segmentation = segmentation;
        this.method = method;
        TermNames = termNames;
    }

    public IReadOnlyList<string> StudentTaps => method.StudentTaps;
    public IReadOnlyList<string> TeacherTaps => method.TeacherTaps;

    /// <summary>Names of the terms <see cref="Compute"/> returns, in order (segmentation terms first).</summary>
    public IReadOnlyList<string> TermNames { get; }

    public IEnumerable<Tensor> TrainableParameters() => method.TrainableParameters();

    /// <summary>Whether the method learns from the network's own branches (a train run without a teacher).</summary>
    public bool IsSelfDistillation => DistillationMethods.IsSelfDistillation(method.Name);

    /// <summary>Tells a method whose objective depends on progress (<see cref="IStepAware"/>) where training stands.</summary>
    public void SetProgress(long step, long totalSteps)
    {
        if (method is IStepAware aware) aware.SetProgress(step, totalSteps);
    }

    /// <summary>Hands this step's input batch to a method that runs forward passes of its own (<see cref="IInputAware"/>).</summary>
    public void SetInput(Tensor image)
    {
        if (method is IInputAware aware) aware.SetInput(image);
    }

    public nn.Module? TrainableModule => method.TrainableModule;

    public static Objective Create(RunSpec spec, SegmentationModel student, SegmentationModel? teacher)
    {
        var lossOptions = BindSegmentationLoss(spec.Loss);
        var segmentation = new SegmentationLoss(lossOptions);
        var names = new List<string>();
        if (lossOptions.DiceWeight != 0) names.Add(SegmentationLoss.DiceName);
        if (lossOptions.FocalWeight != 0) names.Add(SegmentationLoss.FocalName);
        IDistillationMethod method;
        if (spec.Method.Name == NoDistillation.MethodName) method = new NoDistillation();
        else
        {
            if (teacher is null && !DistillationMethods.IsSelfDistillation(spec.Method.Name))
                throw new ArgumentException($"method.name: {spec.Method.Name} needs a teacher");
            var options = BindMethodOptions(spec.Method);
            method = DistillationMethods.Create(spec.Method.Name, options, student, teacher);
            names.AddRange(method.Name switch
            {
                AffinityKdMethod.MethodName => AffinityKdTermNames.Format(options.AffinityKd.Terms).Split('+'),
                Distillation.Emkd.EmkdMethod.MethodName =>
                    [Distillation.Emkd.EmkdMethod.PixelTerm, Distillation.Emkd.EmkdMethod.ImportanceMapTerm, Distillation.Emkd.EmkdMethod.RegionAffinityTerm],
                Distillation.Mskd.MskdMethod.MethodName => [Distillation.Mskd.MskdMethod.FilteringTerm, Distillation.Mskd.MskdMethod.GraphTerm],
                Distillation.AcwSkd.AcwSkdMethod.MethodName => Distillation.AcwSkd.AcwSkdTermNames.Format(options.AcwSkd.Terms).Split('+'),
                Distillation.Gkd.GkdMethod.MethodName => Distillation.Gkd.GkdTermNames.Returned(options.Gkd.Terms),
                KdMethod.MethodName => [KdMethod.Term],
                AtMethod.MethodName => [AtMethod.Term],
                SkdMethod.MethodName => options.Skd.TermList,
                CwdMethod.MethodName => [CwdMethod.Term],
                ByotMethod.MethodName => options.Byot.TermList,
                FspMethod.MethodName => [FspMethod.Term],
                IfvdMethod.MethodName => [IfvdMethod.Term],
                _ => [],
            });
        }
        return new Objective(segmentation, method, names);
    }

    /// <summary>The weighted total and the terms (unweighted values), all in float32.</summary>
    public (Tensor Total, IReadOnlyList<LossTerm> Terms) Compute(FeatureMaps student, FeatureMaps? teacher, Tensor label)
    {
        var logits = student.Logits.dtype == ScalarType.Float32 ? student.Logits : student.Logits.to(ScalarType.Float32);
        var terms = new List<LossTerm>(segmentation.Terms(logits, label));
        // A self-distillation method reads only the student's maps; it is handed them in the teacher's place too.
        if (teacher is not null) terms.AddRange(method.Compute(student, teacher, label));
        else if (IsSelfDistillation) terms.AddRange(method.Compute(student, student, label));
        // The log's columns were fixed from the options; a method returning other terms would shift them silently.
        if (terms.Count != TermNames.Count || terms.Where((t, i) => t.Name != TermNames[i]).Any())
            throw new InvalidOperationException($"objective terms {string.Join(",", terms.Select(t => t.Name))} differ from the expected {string.Join(",", TermNames)}");
        return (LossTerms.Total(terms), terms);
    }

    public static SegmentationLossOptions BindSegmentationLoss(JsonObject? loss)
    {
        var options = Bind<SegmentationLossOptions>(loss, "loss") ?? new SegmentationLossOptions();
        options.Validate();
        return options;
    }

    public static DistillationOptions BindMethodOptions(MethodSpec method)
    {
        var name = method.Name.Trim().ToLowerInvariant();
        if (!DistillationMethods.Names.Contains(name))
            throw new ArgumentException($"method.name: unknown method '{method.Name}'; known: {string.Join(", ", DistillationMethods.Names)}");
        var options = new DistillationOptions();
        switch (name)
        {
            case AffinityKdMethod.MethodName:
                var affinity = Bind<AffinityKdOptions>(method.Options, "method.options") ?? new AffinityKdOptions();
                affinity.Validate();
                options = options with { AffinityKd = affinity };
                break;
            case Distillation.Emkd.EmkdMethod.MethodName:
                var emkd = Bind<Distillation.Emkd.EmkdOptions>(method.Options, "method.options") ?? new Distillation.Emkd.EmkdOptions();
                emkd.Validate();
                options = options with { Emkd = emkd };
                break;
            case Distillation.Mskd.MskdMethod.MethodName:
                var mskd = Bind<Distillation.Mskd.MskdOptions>(method.Options, "method.options") ?? new Distillation.Mskd.MskdOptions();
                mskd.Validate();
                options = options with { Mskd = mskd };
                break;
            case Distillation.AcwSkd.AcwSkdMethod.MethodName:
                var acw = Bind<Distillation.AcwSkd.AcwSkdOptions>(method.Options, "method.options") ?? new Distillation.AcwSkd.AcwSkdOptions();
                acw.Validate();
                options = options with { AcwSkd = acw };
                break;
            case Distillation.Gkd.GkdMethod.MethodName:
                options = options with { Gkd = BindValid<Distillation.Gkd.GkdOptions>(method.Options, o => o.Validate()) };
                break;
            case KdMethod.MethodName:
                options = options with { Kd = BindValid<KdOptions>(method.Options, o => o.Validate()) };
                break;
            case AtMethod.MethodName:
                options = options with { At = BindValid<AtOptions>(method.Options, o => o.Validate()) };
                break;
            case SkdMethod.MethodName:
                options = options with { Skd = BindValid<SkdOptions>(method.Options, o => o.Validate()) };
                break;
            case CwdMethod.MethodName:
                options = options with { Cwd = BindValid<CwdOptions>(method.Options, o => o.Validate()) };
                break;
            case ByotMethod.MethodName:
                options = options with { Byot = BindValid<ByotOptions>(method.Options, o => o.Validate()) };
                break;
            case FspMethod.MethodName:
                options = options with { Fsp = BindValid<FspOptions>(method.Options, o => o.Validate()) };
                break;
            case IfvdMethod.MethodName:
                options = options with { Ifvd = BindValid<IfvdOptions>(method.Options, o => o.Validate()) };
                break;
            default:
                if (method.Options is { Count: > 0 }) throw new ArgumentException($"method.options: method {name} has no options");
                break;
        }
        return options;
    }

    /// <summary>The baselines' options: bound (defaults when absent) and validated, a bad value reported as method.options.</summary>
    private static T BindValid<T>(JsonObject? node, Action<T> validate) where T : class, new()
    {
        var options = Bind<T>(node, "method.options") ?? new T();
        try { validate(options); }
        catch (ArgumentException e) { throw new ArgumentException($"method.options: {e.Message}"); }
        return options;
    }

    private static T? Bind<T>(JsonObject? node, string field) where T : class
    {
        if (node is null) return null;
        try { return node.Deserialize<T>(Json); }
        catch (JsonException e)
        {
            var at = string.IsNullOrEmpty(e.Path) || e.Path == "$" ? field : field + e.Path[1..];
            throw new ArgumentException($"{at}: {FirstLine(e.Message)}");
        }
        catch (FormatException e) { throw new ArgumentException($"{field}: {e.Message}"); }
    }

    private static string FirstLine(string s)
    {
        int i = s.IndexOf('\n');
        return (i < 0 ? s : s[..i]).Trim();
    }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        PropertyNameCaseInsensitive = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new AffinityTermsConverter(), new AcwSkdTermsConverter(), new GkdTermsConverter(), new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    /// <summary>Affinity-KD's term set as configurations spell it: "lm+kmm+aam".</summary>
    private sealed class AffinityTermsConverter : JsonConverter<AffinityKdTerms>
    {
        public override AffinityKdTerms Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String) throw new JsonException("terms must be a string such as \"lm+kmm+aam\"");
            try { return AffinityKdTermNames.Parse(reader.GetString()!); }
            catch (FormatException e) { throw new JsonException(e.Message); }
        }

        public override void Write(Utf8JsonWriter writer, AffinityKdTerms value, JsonSerializerOptions options) =>
            writer.WriteStringValue(AffinityKdTermNames.Format(value));
    }

    /// <summary>ACW-SKD's term set as configurations spell it: "aux+cw+frm+at".</summary>
    private sealed class AcwSkdTermsConverter : JsonConverter<Distillation.AcwSkd.AcwSkdTerms>
    {
        public override Distillation.AcwSkd.AcwSkdTerms Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String) throw new JsonException("terms must be a string such as \"aux+cw+frm+at\"");
            try { return Distillation.AcwSkd.AcwSkdTermNames.Parse(reader.GetString()!); }
            catch (FormatException e) { throw new JsonException(e.Message); }
        }

        public override void Write(Utf8JsonWriter writer, Distillation.AcwSkd.AcwSkdTerms value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Distillation.AcwSkd.AcwSkdTermNames.Format(value));
    }

    /// <summary>GKD's term set as configurations spell it: "intra+inter+cross" (act always runs and is not listed).</summary>
    private sealed class GkdTermsConverter : JsonConverter<Distillation.Gkd.GkdTerms>
    {
        public override Distillation.Gkd.GkdTerms Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType != JsonTokenType.String) throw new JsonException("terms must be a string such as \"intra+inter+cross\"");
            try { return Distillation.Gkd.GkdTermNames.Parse(reader.GetString()!); }
            catch (FormatException e) { throw new JsonException(e.Message); }
        }

        public override void Write(Utf8JsonWriter writer, Distillation.Gkd.GkdTerms value, JsonSerializerOptions options) =>
            writer.WriteStringValue(Distillation.Gkd.GkdTermNames.Format(value));
    }

    public void Dispose() => method.Dispose();
}
