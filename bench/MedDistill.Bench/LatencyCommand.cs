using System.CommandLine;
using System.Globalization;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Bench;

/// <summary>
/// <c>latency</c>: inference milliseconds per image of each network at 1×384×384 (1 channel, 2 classes, width 1), one
/// line per network and batch size, then a summary table.
/// </summary>
public static class LatencyCommand
{
    public static Command Create()
    {
        var batches = new Option<string>("--batch") { Description = "Batch sizes, comma-separated", DefaultValueFactory = _ => "1,16" };
        var iters = new Option<int>("--iters") { Description = "Timed forward passes per network and batch", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed passes first", DefaultValueFactory = _ => 2 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (default: libtorch's own default)" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
        var models = new Option<string>("--models") { Description = "Networks, comma-separated (default: every registered one)" };
        var size = new Option<int>("--size") { Description = "Image side", DefaultValueFactory = _ => 384 };
        var command = new Command("latency", "Inference ms/image of the zoo's networks (prints one latency line per network and batch, then a summary)")
        {
            batches, iters, warmup, threads, device, models, size,
        };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(iters), w = parse.GetValue(warmup), s = parse.GetValue(size);
            if (n < 1 || w < 0 || s < 1)
            {
                Console.Error.WriteLine("bench latency: --iters and --size must be >= 1 and --warmup >= 0");
                return 2;
            }
            if (!BenchSetup.TryParsePositiveList(parse.GetValue(batches)!, out var batchList))
            {
                Console.Error.WriteLine($"bench latency: --batch must be positive integers separated by commas (got '{parse.GetValue(batches)}')");
                return 2;
            }
            var names = parse.GetValue(models) is { Length: > 0 } list
                ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : ModelRegistry.Names.ToArray();
            if (!BenchSetup.KnownModels("latency", names)) return 2;
            if (BenchSetup.DeviceAndThreads("latency", parse.GetValue(device)!, parse.GetValue(threads)) is not { } dev) return 2;

            var options = new ModelOptions(InChannels: 1, Classes: 2);
            Console.Error.WriteLine($"libtorch={__version__} threads={get_num_threads()} device={dev} input=1x{s}x{s} iters={n} warmup={w}");
            var results = new List<LatencyResult>();
            foreach (var name in names)
                foreach (var batch in batchList)
                {
                    var r = Latency.Run(name, options, batch, s, n, w, dev);
                    results.Add(r);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"latency model={r.Model} batch={r.Batch} iters={r.Iterations} median-ms={r.MedianMs:F1} ms-per-image={r.MsPerImage:F2} min-ms={r.MinMs:F1} max-ms={r.MaxMs:F1}"));
                }

            Console.WriteLine();
            Console.WriteLine($"{"model",-16}" + string.Concat(batchList.Select(b => $"{"ms/img b" + b,16}")));
            foreach (var name in names)
                Console.WriteLine($"{name,-16}" + string.Concat(batchList.Select(b =>
                    results.Single(r => r.Model == name && r.Batch == b).MsPerImage.ToString("F2", CultureInfo.InvariantCulture).PadLeft(16))));
            return 0;
        });
        return command;
    }
}
