using System.CommandLine;
using System.Text.Json;
using MedDistill.Data.Phantom;

namespace MedDistill.Cli.Commands;

/// <summary>
/// <c>meddistill data phantom</c>: writes the built-in multi-site prostate phantom (<c>&lt;data-dir&gt;/phantom-prostate</c>),
/// the data set used when no real data is present. Idempotent: the same options find the existing files and write nothing.
/// A subcommand of <c>data</c>; this file only builds the command.
/// </summary>
public static class PhantomCommand
{
    public static Command Create()
    {
        var defaults = new PhantomOptions();
        // The same data-directory rules as every other data subcommand (--data-dir, $MEDDISTILL_DATA, data/ at the root).
        var dataDir = DataCommand.DataDirOption();
        var seed = new Option<ulong>("--seed") { Description = "Seed of the anatomy, bias fields and noise", DefaultValueFactory = _ => defaults.Seed };
        var cases = new Option<int?>("--cases-per-site") { Description = "Cases of every site (Case00, Case01, ...); default: the real data set's counts (RUNMC 30, BMC 30, I2CVB 19, UCL 13, BIDMC 12, HK 12)" };
        var minSlices = new Option<int>("--min-slices") { Description = "Fewest slices of a case", DefaultValueFactory = _ => defaults.MinSlices };
        var maxSlices = new Option<int>("--max-slices") { Description = "Most slices of a case", DefaultValueFactory = _ => defaults.MaxSlices };
        var scale = new Option<double>("--matrix-scale")
        {
            Description = "Scales every site's in-plane matrix, keeping its field of view (0.5 = half the pixels per side)",
            DefaultValueFactory = _ => defaults.MatrixScale,
        };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object" };
        var command = new Command("phantom", "Write the built-in six-site prostate MRI phantom (NIfTI, the real data set's layout)")
        {
            dataDir, seed, cases, minSlices, maxSlices, scale, json,
        };
        command.SetAction(parse =>
        {
            var options = new PhantomOptions
            {
                Seed = parse.GetValue(seed), CasesPerSite = parse.GetValue(cases), MinSlices = parse.GetValue(minSlices),
                MaxSlices = parse.GetValue(maxSlices), MatrixScale = parse.GetValue(scale),
            };
            bool asJson = parse.GetValue(json);
            return CliHost.Guard(() =>
            {
                var result = PhantomGenerator.Generate(DataCommand.ResolveDataDir(parse.GetValue(dataDir)), options, asJson ? null : new ConsoleProgress());
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
            });
        });
        return command;
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
