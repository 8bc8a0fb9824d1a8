using System.CommandLine;
using System.Globalization;
using MedDistill.Models;
using MedDistill.Torch;
using static MedDistill.Torch.torch;

namespace MedDistill.Bench;

/// <summary>
/// <c>train</c>: training images/s of each network alone and of a student distilled (Affinity-KD, all terms) from each
/// teacher, at each input size; one line per configuration, then a summary table.
/// </summary>
public static class TrainCommand
{
    /// <summary>Networks whose training step at the paper's size costs tens of seconds per image on a CPU core.</summary>
    public static readonly string[] LargeNetworks = ["unetpp", "deeplabv3plus", "unet"];

    /// <summary>Above this side the large networks run with --large-batch (the phantom's 96 stays at --batch).</summary>
    public const int LargeSizeFrom = 256;

    public static Command Create()
    {
        var models = new Option<string>("--models")
        {
            Description = "Networks trained alone, comma-separated, or 'none'", DefaultValueFactory = _ => "espnet,enet,erfnet,unetpp,deeplabv3plus",
        };
        var teachers = new Option<string>("--teachers")
        {
            Description = "Teachers the student is distilled from, comma-separated, or 'none'", DefaultValueFactory = _ => "unetpp,deeplabv3plus",
        };
        var studentOption = new Option<string>("--student") { Description = "Student of the distillation runs", DefaultValueFactory = _ => "enet" };
        var sizes = new Option<string>("--sizes") { Description = "Image sides, comma-separated (phantom 96, paper 384)", DefaultValueFactory = _ => "96,384" };
        var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => 8 };
        var largeBatch = new Option<int>("--large-batch")
        {
            Description = $"Batch size of configurations with {string.Join("/", LargeNetworks)} (trained or teacher) at sides >= {LargeSizeFrom}",
            DefaultValueFactory = _ => 2,
        };
        var steps = new Option<int>("--steps") { Description = "Timed steps per configuration", DefaultValueFactory = _ => 2 };
        var warmup = new Option<int>("--warmup") { Description = "Untimed steps first", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Intra-op threads (default: libtorch's own default)" };
        var device = new Option<string>("--device") { Description = "cpu or cuda[:N]", DefaultValueFactory = _ => "cpu" };
        var command = new Command("train", "Training images/s of the zoo's networks and of distilled students (one line per configuration, then a summary)")
        {
            models, teachers, studentOption, sizes, batch, largeBatch, steps, warmup, threads, device,
        };
        command.SetAction(parse =>
        {
            int n = parse.GetValue(steps), w = parse.GetValue(warmup), b = parse.GetValue(batch), lb = parse.GetValue(largeBatch);
            if (n < 1 || w < 0 || b < 1 || lb < 1)
            {
                Console.Error.WriteLine("bench train: --steps, --batch and --large-batch must be >= 1 and --warmup >= 0");
                return 2;
            }
            if (!BenchSetup.TryParsePositiveList(parse.GetValue(sizes)!, out var sizeList))
            {
                Console.Error.WriteLine($"bench train: --sizes must be positive integers separated by commas (got '{parse.GetValue(sizes)}')");
                return 2;
            }
            var trained = Names(parse.GetValue(models)!);
            var teacherNames = Names(parse.GetValue(teachers)!);
            var student = parse.GetValue(studentOption)!.Trim();
            if (!BenchSetup.KnownModels("train", trained.Concat(teacherNames).Append(student))) return 2;
            if (BenchSetup.DeviceAndThreads("train", parse.GetValue(device)!, parse.GetValue(threads)) is not { } dev) return 2;

            int BatchFor(string model, string? teacher, int size) =>
                size >= LargeSizeFrom && (IsLarge(model) || (teacher is not null && IsLarge(teacher))) ? lb : b;
            var configs = new List<TrainConfig>();
            foreach (var size in sizeList)
            {
                configs.AddRange(trained.Select(m => new TrainConfig(m, null, size, BatchFor(m, null, size))));
                configs.AddRange(teacherNames.Select(te => new TrainConfig(student, te, size, BatchFor(student, te, size))));
            }

            Console.Error.WriteLine($"libtorch={__version__} threads={get_num_threads()} device={dev} steps={n} warmup={w}");
            Console.WriteLine(FormattableString.Invariant(
                $"note: batch {b}, and {lb} for {string.Join("/", LargeNetworks)} (trained or as teacher) at sides >= {LargeSizeFrom}; {n} timed step(s) after {w} warm-up, so that the default run ends in about 10 minutes on 2 CPU cores (UNet++ alone needs ~10 s per 384x384 image forward there). Ask for more with --steps, --warmup, --batch, --large-batch."));
            var results = new List<TrainResult>();
            foreach (var config in configs)
            {
                var r = TrainThroughput.Run(config, n, w, dev);
                results.Add(r);
                Console.WriteLine(FormattableString.Invariant(
                    $"train config={config.Label} size={config.Size} batch={config.Batch} steps={r.Steps} median-ms={r.MedianMs:F1} images-per-s={r.ImagesPerSecond:G4} min-ms={r.MinMs:F1} max-ms={r.MaxMs:F1}"));
            }

            Console.WriteLine();
            Console.WriteLine($"{"configuration",-24}" + string.Concat(sizeList.Select(s => $"{"img/s @" + s + " (batch)",22}")));
            foreach (var label in configs.Select(c => c.Label).Distinct())
                Console.WriteLine($"{label,-24}" + string.Concat(sizeList.Select(s =>
                    results.FirstOrDefault(r => r.Config.Label == label && r.Config.Size == s) is { } r
                        ? FormattableString.Invariant( $"{r.ImagesPerSecond:G3} ({r.Config.Batch})").PadLeft(22)
                        : "-".PadLeft(22))));
            return 0;
        });
        return command;
    }

    private static bool IsLarge(string model) => LargeNetworks.Contains(model, StringComparer.OrdinalIgnoreCase);

    private static string[] Names(string list) =>
        list.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)
            ? []
            : list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
