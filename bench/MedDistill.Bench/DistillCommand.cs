using System.CommandLine;
using System.Globalization;

namespace MedDistill.Bench;

/// <summary>
/// <c>distill</c>: median time of one Affinity-KD distillation step (ENet ← DeepLabV3+); the twin of bench/distill_step.py,
/// with the same flags and output lines.
/// </summary>
public static class DistillCommand
{
    public static Command Create()
    {
        // Defaults as the script's: one step costs seconds on the CPU (the teacher alone is ~15 GMAC per 128² image).
        var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first (their losses are printed)", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (default: libtorch's own default)" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
        var seed = new Option<long>("--seed") { Description = "Seed for weights, data and dropout", DefaultValueFactory = _ => 0 };
        var breakdown = new Option<bool>("--breakdown") { Description = "After the timed steps, time each part of --steps more steps" };
        var command = new Command("distill",
            "Time one Affinity-KD step, ENet <- DeepLabV3+, batch 8 of 1x128x128 (prints distill-step-ms=<median>)")
        {
            steps, warmup, threads, device, seed, breakdown,
        };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(steps), w = parse.GetValue(warmup);
            if (n < 1 || w < 0)
            {
                Console.Error.WriteLine("bench distill: --steps must be >= 1 and --warmup >= 0");
                return 2;
            }
            var result = DistillStep.Run(new DistillStepOptions
            {
                Steps = n, Warmup = w, Threads = parse.GetValue(threads), Device = parse.GetValue(device)!,
                Seed = parse.GetValue(seed), Breakdown = parse.GetValue(breakdown),
            });
            // Same lines, same format as the script, so build.sh can compare the strings.
            if (result.FirstTerms.Count > 0)
            {
                Console.WriteLine("first-terms=" + string.Join(",", result.FirstTerms.Select(t => t.Name + ":" + F6(t.Value))));
                Console.WriteLine("first-losses=" + string.Join(",", result.FirstTotals.Take(3).Select(F6)));
            }
            if (result.Parts is { } parts)
            {
                double sum = parts.Sum(p => p.MedianMs);
                foreach (var p in parts)
                    Console.WriteLine(FormattableString.Invariant($"breakdown part={p.Name} ms={p.MedianMs:F3} share={100.0 * p.MedianMs / sum:F1}%"));
                Console.WriteLine(FormattableString.Invariant($"breakdown part=sum ms={sum:F3}"));
            }
            Console.WriteLine(FormattableString.Invariant($"distill-step-ms={result.MedianMs:F3}"));
            return 0;
        });
        return command;
    }

    private static string F6(double v) => v.ToString("F6", CultureInfo.InvariantCulture);
}
