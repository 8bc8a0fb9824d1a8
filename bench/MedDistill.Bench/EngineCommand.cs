using System.CommandLine;

namespace MedDistill.Bench;

/// <summary><c>engine</c>: median time of one training step; the twin of bench/engine_step.py.</summary>
public static class EngineCommand
{
    public static Command Create()
    {
        var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => 50 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => 10 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (default: libtorch's own default)" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
        var seed = new Option<long>("--seed") { Description = "Seed for weights and data", DefaultValueFactory = _ => 0 };
        var command = new Command("engine", "Time one training step of a small conv net (prints engine-step-ms=<median>)")
        {
            steps, warmup, threads, device, seed,
        };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(steps), w = parse.GetValue(warmup);
            if (n < 1 || w < 0)
            {
                Console.Error.WriteLine("bench engine: --steps must be >= 1 and --warmup >= 0");
                return 2;
            }
            var (median, firstLosses) = EngineStep.Run(n, w, parse.GetValue(threads), parse.GetValue(device)!, parse.GetValue(seed));
            Console.WriteLine("first-losses=" + string.Join(",", firstLosses.Take(3).Select(v => v.ToString("F6", System.Globalization.CultureInfo.InvariantCulture))));
            Console.WriteLine(FormattableString.Invariant($"engine-step-ms={median:F3}"));
            return 0;
        });
        return command;
    }
}
