using System.Diagnostics;
using MedDistill.Distillation;
using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Losses;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Bench;

/// <summary>One training configuration: <paramref name="Model"/> trained alone, or distilled from <paramref name="Teacher"/>.</summary>
public sealed record TrainConfig(string Model, string? Teacher, int Size, int Batch)
{
    public string Label => Teacher is null ? Model : $"{Model}<-{Teacher}";
}

/// <param name="MedianMs">Median wall time of one whole step (forward, loss, backward, optimiser step).</param>
public sealed record TrainResult(TrainConfig Config, int Steps, double MedianMs, double MinMs, double MaxMs)
{
    public double ImagesPerSecond => Config.Batch * 1000.0 / MedianMs;
}

/// <summary>
/// Training throughput: the step a training run takes (<c>Trainer</c>), on random data. Width 1, 1 input channel, 2
/// classes; loss <see cref="SegmentationLoss"/> with its defaults (0.5·Dice + 0.5·focal); Adam (lr 0.01) over the
/// student's parameters and, when distilling, Affinity-KD with every term (LM + KMM + AAM, default options) from a teacher
/// in eval mode under no_grad, KMM's adapter trained with the student. Each step runs in its own dispose scope; warm-up
/// steps first, then the median over single timed steps (CUDA synchronised before the clock stops).
/// </summary>
public static class TrainThroughput
{
    public const int InChannels = 1, Classes = 2;
    public const double LearningRate = 0.01;

    public static TrainResult Run(TrainConfig config, int steps, int warmup, Device device, long seed = 0)
    {
        manual_seed(seed);
        var options = new ModelOptions(InChannels, Classes);
        using var student = ModelRegistry.Create(config.Model, options);
        student.CheckInputSize(config.Size, config.Size);
        using var teacher = config.Teacher is null ? null : ModelRegistry.Create(config.Teacher, options);
        teacher?.CheckInputSize(config.Size, config.Size);
        student.to(device);
        student.train();
        if (teacher is not null)
        {
            teacher.to(device);
            teacher.eval();
            foreach (var p in teacher.parameters()) p.requires_grad_(false);
        }
        // Created after the moves, as the trainer does: the adapter lands on the student's device.
        using var method = teacher is null
            ? (IDistillationMethod)new NoDistillation()
            : DistillationMethods.Create(AffinityKdMethod.MethodName, null, student, teacher);
        method.TrainableModule?.train();
        var segmentation = new SegmentationLoss();
        var teacherTaps = method.TeacherTaps.ToArray();
        var studentTaps = method.StudentTaps.ToArray();

        using var x = randn([config.Batch, InChannels, config.Size, config.Size], float32, device);
        using var y = randint(0, Classes, [config.Batch, config.Size, config.Size], int64, device);
        using var optimizer = optim.Adam(student.parameters().Cast<Tensor>().Concat(method.TrainableParameters()).ToList(), LearningRate);
        bool isCuda = device.Type == DeviceType.CUDA;
        int cudaIndex = device.Index < 0 ? 0 : device.Index;

        void Step()
        {
            using var scope = NewDisposeScope();
            FeatureMaps? t = null;
            if (teacher is not null)
                using (no_grad()) t = teacher.forward_features(x, teacherTaps);
            var s = student.forward_features(x, studentTaps);
            var terms = segmentation.Terms(s.Logits, y).Concat(t is null ? [] : method.Compute(s, t, y));
            var total = LossTerms.Total(terms);
            optimizer.zero_grad();
            total.backward();
            optimizer.step();
            if (isCuda) cuda.synchronize(cudaIndex);
        }

        for (int i = 0; i < warmup; i++) Step();
        var times = new double[steps];
        for (int i = 0; i < steps; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Step();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        return new TrainResult(config, steps, Stats.Median(times), times.Min(), times.Max());
    }
}
