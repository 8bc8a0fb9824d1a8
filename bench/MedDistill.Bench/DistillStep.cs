using System.Diagnostics;
using MedDistill.Distillation;
using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Losses;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Bench;

/// <summary>What <see cref="DistillStep.Run"/> measures and how (the flags of bench/distill_step.py).</summary>
public sealed record DistillStepOptions
{
    public int Steps { get; init; } = 10;
    public int Warmup { get; init; } = 2;

    /// <summary>Intra-op threads; 0 keeps libtorch's default.</summary>
    public int Threads { get; init; }

    public string Device { get; init; } = "cpu";
    public long Seed { get; init; }

    /// <summary>After the timed steps, <see cref="Steps"/> more with a clock between the parts.</summary>
    public bool Breakdown { get; init; }
}

/// <summary>One timed part of a step: its median over the breakdown pass.</summary>
public sealed record StepPart(string Name, double MedianMs);

/// <param name="FirstTerms">Unweighted terms of the first warm-up step (dice, focal, seg, lm, kmm, aam, total); empty without warm-up.</param>
/// <param name="FirstTotals">Totals of the warm-up steps.</param>
/// <param name="Parts">The breakdown, in step order; null unless asked for.</param>
public sealed record DistillStepResult(double MedianMs, IReadOnlyList<(string Name, double Value)> FirstTerms, IReadOnlyList<double> FirstTotals,
    IReadOnlyList<StepPart>? Parts);

/// <summary>
/// The C# twin of bench/distill_step.py: one Affinity-KD step (ENet student ← DeepLabV3+ teacher, LM + KMM + AAM, batch 8
/// of 1×128×128, 2 classes) built from the library as a training run uses it: <see cref="ModelRegistry"/> networks,
/// <see cref="DistillationMethods.Create"/> with default options, <see cref="SegmentationLoss"/> with defaults, Adam over
/// the student's then the adapter's parameters. The construction follows the script's seed contract
/// (docs/readme-pybench.md), so both sides start from the same weights and inputs and their first losses can be compared.
/// </summary>
public static class DistillStep
{
    public const string TeacherName = "deeplabv3plus", StudentName = "enet";
    public const int Batch = 8, Size = 128, Classes = 2, InChannels = 1;
    public const double LearningRate = 0.01;

    /// <summary>Parts of the breakdown, named as the script names them.</summary>
    public static readonly string[] PartNames =
        ["teacher-forward", "student-forward", "loss-seg", "loss-lm", "loss-kmm", "loss-aam", "backward-step"];

    public static DistillStepResult Run(DistillStepOptions o)
    {
        manual_seed(o.Seed);
        if (o.Threads > 0) set_num_threads(o.Threads);
        var dev = device(o.Device);
        bool isCuda = dev.Type == DeviceType.CUDA;
        int cudaIndex = dev.Index < 0 ? 0 : dev.Index;

        // Seed contract, step 2: teacher, student, adapter, each drawing its initial weights in construction order. All
        // three are built on the CPU and moved afterwards, as the script does, so the draws come from the CPU generator
        // on every device. The method's channel probe runs eval-mode forwards, which draw nothing.
        var options = new ModelOptions(InChannels, Classes);
        using var teacher = ModelRegistry.Create(TeacherName, options);
        using var student = ModelRegistry.Create(StudentName, options);
        using var method = DistillationMethods.Create(AffinityKdMethod.MethodName, null, student, teacher);
        var affinityKd = (AffinityKdMethod)method;
        teacher.to(dev);
        student.to(dev);
        method.TrainableModule?.to(dev);
        teacher.eval();
        foreach (var p in teacher.parameters()) p.requires_grad_(false);
        student.train();
        method.TrainableModule?.train();

        using var x = randn([Batch, InChannels, Size, Size], float32, dev);
        using var y = randint(0, Classes, [Batch, Size, Size], int64, dev);
        var parameters = student.parameters().Cast<Tensor>().Concat(method.TrainableParameters()).ToList();
        using var optimizer = optim.Adam(parameters, LearningRate);
        var segmentation = new SegmentationLoss();
        var teacherTaps = method.TeacherTaps.ToArray();
        var studentTaps = method.StudentTaps.ToArray();

        // The breakdown times each Affinity-KD term alone, so it calls the method's modules one by one with the method's
        // own options (the timed pass calls method.Compute, as the trainer does).
        var kdOptions = affinityKd.Options;
        var logitsModule = new LogitsDistillation(kdOptions.Logits);
        var affinityModule = new AdaptiveAffinityDistillation(kdOptions.Affinity);
        var kernelMatrix = affinityKd.KernelMatrix!;

        void Sync()
        {
            if (isCuda) cuda.synchronize(cudaIndex);
        }

        // One step in its own dispose scope. With values, returns the unweighted terms (plus seg and total) read back to
        // the host; with a clock, appends a time stamp after each part (synchronising first on CUDA).
        List<(string, double)>? Step(bool values, List<double>? clock)
        {
            using var scope = NewDisposeScope();
            void Mark()
            {
                if (clock is null) return;
                Sync();
                clock.Add(Stopwatch.GetTimestamp());
            }

            Mark();
            FeatureMaps t;
            using (no_grad()) t = teacher.forward_features(x, teacherTaps);
            Mark();
            var s = student.forward_features(x, studentTaps);
            Mark();
            var segTerms = segmentation.Terms(s.Logits, y);
            Mark();
            List<LossTerm> kdTerms;
            if (clock is null) kdTerms = [.. method.Compute(s, t, y)];
            else
            {
                var lm = new LossTerm(AffinityKdTermNames.Logits, kdOptions.LogitsWeight, logitsModule.Compute(s.Logits, t.Logits));
                Mark();
                var kmm = new LossTerm(AffinityKdTermNames.KernelMatrix, kdOptions.KernelMatrixWeight,
                    kernelMatrix.Compute(s[kernelMatrix.Options.StudentTap], t[kernelMatrix.Options.TeacherTap]));
                Mark();
                var aam = new LossTerm(AffinityKdTermNames.AdaptiveAffinity, kdOptions.AffinityWeight, affinityModule.Compute(s.Logits, t.Logits));
                Mark();
                kdTerms = [lm, kmm, aam];
            }
            var total = LossTerms.Total(segTerms.Concat(kdTerms));
            optimizer.zero_grad();
            total.backward();
            optimizer.step();
            Mark();
            if (!values) return null;
            var read = new List<(string, double)>();
            foreach (var term in segTerms) read.Add((term.Name, term.Value.item<float>()));
            read.Add(("seg", LossTerms.Total(segTerms).item<float>()));
            foreach (var term in kdTerms) read.Add((term.Name, term.Value.item<float>()));
            read.Add(("total", total.item<float>()));
            return read;
        }

        var firstTerms = new List<(string, double)>();
        var firstTotals = new List<double>();
        for (int i = 0; i < o.Warmup; i++)
        {
            var terms = Step(values: true, clock: null)!;
            firstTotals.Add(terms[^1].Item2);
            if (i == 0) firstTerms = terms;
        }
        Sync();

        var times = new double[o.Steps];
        for (int i = 0; i < o.Steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Step(values: false, clock: null);
            // Without a sync a CUDA step only measures kernel launches.
            Sync();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        List<StepPart>? parts = null;
        if (o.Breakdown)
        {
            var samples = PartNames.Select(_ => new double[o.Steps]).ToArray();
            for (int i = 0; i < o.Steps; i++)
            {
                var clock = new List<double>();
                Step(values: false, clock);
                for (int p = 0; p < PartNames.Length; p++)
                    samples[p][i] = (clock[p + 1] - clock[p]) * 1000.0 / Stopwatch.Frequency;
            }
            parts = PartNames.Select((name, p) => new StepPart(name, Stats.Median(samples[p]))).ToList();
        }

        Console.Error.WriteLine($"libtorch={__version__} threads={get_num_threads()} device={o.Device} steps={o.Steps}");
        return new DistillStepResult(Stats.Median(times), firstTerms, firstTotals, parts);
    }
}
