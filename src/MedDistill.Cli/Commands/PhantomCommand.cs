using System.CommandLine;
using System.Text.Json;
using MedDistill.Data.Phantom;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill data phantom [prostate|abdomen|flare|laparoscopy|fundus|liver]</c>: writes a built-in phantom into the data
/// directory — the multi-site prostate MRI (<c>phantom-prostate</c>, the default, used when no real data is present),
/// ACW-SKD's three sets (<c>phantom-abdomen</c>, <c>phantom-flare</c>, <c>phantom-laparoscopy</c>) or GKD's two
/// (<c>phantom-fundus</c>: CHASE_DB1, STARE, DRIVE; <c>phantom-liver</c>: CHAOS, LiTS). Idempotent: the same options find the
/// existing files and write nothing.
/// A subcommand of <c>data</c>; this file only builds the command.
/// </summary>
public static class PhantomCommand
{
    public static Command Create()
    {
        var defaults = new PhantomOptions();
        // The same data-directory rules as every other data subcommand (--data-dir, $MEDDISTILL_DATA, data/ at the root).
        var dataDir = DataCommand.DataDirOption();
        var seed = new Option<ulong>("--seed") { Description = "Seed of everything random (default per phantom)", DefaultValueFactory = _ => defaults.Seed };
        var cases = new Option<int?>("--cases-per-site") { Description = "prostate: cases of every site (Case00, Case01, ...); default: the real data set's counts (RUNMC 30, BMC 30, I2CVB 19, UCL 13, BIDMC 12, HK 12)" };
        var minSlices = new Option<int>("--min-slices") { Description = "prostate: fewest slices of a case", DefaultValueFactory = _ => defaults.MinSlices };
        var maxSlices = new Option<int>("--max-slices") { Description = "prostate: most slices of a case", DefaultValueFactory = _ => defaults.MaxSlices };
        var scale = new Option<double>("--matrix-scale")
        {
            Description = "prostate: scales every site's in-plane matrix, keeping its field of view (0.5 = half the pixels per side)",
            DefaultValueFactory = _ => defaults.MatrixScale,
        };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object" };
        var dataset = new Argument<string>("DATASET")
        {
            Description = "prostate (six-site MRI, NIfTI), abdomen (Synapse as TransUNet ships it: npz slices + .npy.h5 volumes), flare (FLARE22 NIfTI), laparoscopy (M2caiSeg JPEG + colour PNG), fundus (CHASE_DB1 JPEG/PNG, STARE PPM.gz, DRIVE TIFF/GIF), liver (CHAOS DICOM + PNG, LiTS NIfTI)",
            Arity = ArgumentArity.ZeroOrOne,
            DefaultValueFactory = _ => "prostate",
        };
        var size = new Option<int?>("--size") { Description = "abdomen/flare/liver: in-plane matrix (default 64); laparoscopy: frame width (default 192, height 9/16 of it)" };
        var slices = new Option<int?>("--slices") { Description = "abdomen/flare/liver: slices per volume (default 24)" };
        var flareCases = new Option<int?>("--cases") { Description = "flare: cases (default 50; the first 80 % are the training split); liver: CHAOS patients and LiTS volumes each (default 20)" };
        var frames = new Option<int?>("--frames") { Description = "laparoscopy: training frames (default 24); test gets a third as many, trainval a sixth" };
        var imageScale = new Option<double?>("--scale") { Description = "fundus: fraction of each data set's real image size (default 1; 0.125 for quick runs)" };
        var command = new Command("phantom", "Write a built-in phantom data set in the real data set's layout: prostate (default), abdomen, flare, laparoscopy, fundus, liver")
        {
            dataset, dataDir, seed, cases, minSlices, maxSlices, scale, size, slices, flareCases, frames, imageScale, json,
        };
        command.SetAction(parse =>
        {
            bool asJson = parse.GetValue(json);
            return CliHost.Guard(() =>
            {
                var root = DataCommand.ResolveDataDir(parse.GetValue(dataDir));
                var name = parse.GetValue(dataset)!.ToLowerInvariant();
                var seedGiven = parse.GetResult(seed) is { Implicit: false };
                if (name != "prostate" && parse.GetValue(cases) is not null)
                    throw new ArgumentException("--cases-per-site applies to the prostate phantom only");
                if (name != "fundus" && parse.GetValue(imageScale) is not null) throw new ArgumentException("--scale applies to the fundus phantom only");
                if (name == "prostate")
                {
                    if (parse.GetValue(size) is not null || parse.GetValue(slices) is not null || parse.GetValue(flareCases) is not null || parse.GetValue(frames) is not null)
                        throw new ArgumentException("--size, --slices, --cases and --frames apply to the abdomen, flare and laparoscopy phantoms");
                    return Prostate(parse, root, asJson, seed, cases, minSlices, maxSlices, scale);
                }
                var abdomen = new AbdomenPhantomOptions
                {
                    Seed = seedGiven ? parse.GetValue(seed) : new AbdomenPhantomOptions().Seed,
                    Size = parse.GetValue(size) ?? 64, Slices = parse.GetValue(slices) ?? 24, Cases = parse.GetValue(flareCases),
                };
                BuiltinPhantomResult result;
                switch (name)
                {
                    case "abdomen":
                        if (abdomen.Cases is not null) throw new ArgumentException("--cases applies to flare; the abdomen phantom has TransUNet's 18 + 12 Synapse cases");
                        result = AbdomenPhantom.GenerateSynapse(root, abdomen);
                        break;
                    case "flare":
                        result = AbdomenPhantom.GenerateFlare(root, abdomen);
                        break;
                    case "laparoscopy":
                        if (parse.GetValue(slices) is not null || abdomen.Cases is not null) throw new ArgumentException("--slices and --cases do not apply to the laparoscopy phantom");
                        int width = parse.GetValue(size) ?? 192, train = parse.GetValue(frames) ?? 24;
                        result = LaparoscopyPhantom.Generate(root, new LaparoscopyPhantomOptions
                        {
                            Seed = seedGiven ? parse.GetValue(seed) : new LaparoscopyPhantomOptions().Seed,
                            Width = width, Height = Math.Max(16, (int)Math.Round(width * 9 / 16.0)),
                            TrainFrames = train, TestFrames = Math.Max(1, train / 3), TrainValFrames = train / 6,
                        });
                        break;
                    case "fundus":
                        if (parse.GetValue(size) is not null || parse.GetValue(slices) is not null || abdomen.Cases is not null || parse.GetValue(frames) is not null)
                            throw new ArgumentException("the fundus phantom takes --scale, not --size, --slices, --cases or --frames");
                        result = FundusPhantom.Generate(root, new FundusPhantomOptions
                        {
                            Seed = seedGiven ? parse.GetValue(seed) : new FundusPhantomOptions().Seed,
                            Scale = parse.GetValue(imageScale) ?? 1.0,
                        });
                        break;
                    case "liver":
                        if (parse.GetValue(frames) is not null) throw new ArgumentException("--frames does not apply to the liver phantom");
                        int liverCases = abdomen.Cases ?? 20;
                        result = LiverPhantom.Generate(root, new LiverPhantomOptions
                        {
                            Seed = seedGiven ? parse.GetValue(seed) : new LiverPhantomOptions().Seed,
                            Size = abdomen.Size, Slices = abdomen.Slices, ChaosCases = Math.Min(liverCases, 20), LitsCases = liverCases,
                        });
                        break;
                    default:
                        throw new ArgumentException($"unknown phantom \"{name}\"; one of: prostate, abdomen, flare, laparoscopy, fundus, liver");
                }
                if (asJson)
                    Console.WriteLine(JsonSerializer.Serialize(new { directory = result.Directory, generated = result.Generated, optionsHash = result.OptionsHash, files = result.Files.Count }));
                else
                    Console.WriteLine(result.Generated
                        ? $"wrote {result.Files.Count} files to {result.Directory}"
                        : $"{result.Directory} is up to date ({result.Files.Count} files, options {result.OptionsHash[..12]})");
                return CliHost.ExitOk;
            });
        });
        return command;
    }

    private static int Prostate(ParseResult parse, string root, bool asJson, Option<ulong> seed, Option<int?> cases, Option<int> minSlices, Option<int> maxSlices, Option<double> scale)
    {
        var options = new PhantomOptions
        {
            Seed = parse.GetValue(seed), CasesPerSite = parse.GetValue(cases), MinSlices = parse.GetValue(minSlices),
            MaxSlices = parse.GetValue(maxSlices), MatrixScale = parse.GetValue(scale),
        };
        var result = PhantomGenerator.Generate(root, options, asJson ? null : new ConsoleProgress());
        if (!asJson && result.Generated && !Console.IsErrorRedirected) Console.Error.WriteLine();
        if (asJson)
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                directory = result.Directory, generated = result.Generated, optionsHash = result.OptionsHash,
                sites = options.Sites.Select(s => s.Name), cases = result.Cases.Count,
            }));
        else
            Console.WriteLine(result.Generated
                ? $"wrote {result.Cases.Count} cases of {options.Sites.Count} sites to {result.Directory}"
                : $"{result.Directory} is up to date ({result.Cases.Count} cases, options {result.OptionsHash[..12]})");
        return CliHost.ExitOk;
    }

    /// <summary>One status line on stderr, written on the reporting thread (Progress&lt;T&gt; would post to the thread pool and print out of order).</summary>
    private sealed class ConsoleProgress : IProgress<PhantomProgress>
    {
        private readonly Lock gate = new();

        public void Report(PhantomProgress value)
        {
            // A carriage-return status line on a terminal; in logs (CI, redirected output) one line per case.
            lock (gate)
                if (Console.IsErrorRedirected) Console.Error.WriteLine($"phantom: {value.Done}/{value.Total} {value.Case}");
                else Console.Error.Write($"\rphantom: {value.Done}/{value.Total} {value.Case,-16}");
        }
    }
}
