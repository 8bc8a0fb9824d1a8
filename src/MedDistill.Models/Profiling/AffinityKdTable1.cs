using System.Globalization;
using System.Text;

using MedDistill.Shared;
namespace MedDistill.Models.Profiling;

/// <summary>A network's cost as printed in a paper (kept exactly as printed, hence decimal).</summary>
public sealed record PublishedCost(decimal ParamsM, decimal Gflops);

/// <summary>One row of the Affinity-KD paper's Table 1: the method as printed, our registry name, and what was published.</summary>
/// <param name="PaperOptions">The configuration whose parameter count matches the published one (see docs/readme-counting.md).</param>
public sealed record Table1Entry(string Method, string Model, ModelOptions PaperOptions, PublishedCost Published);

/// <summary>A reproduced row: the entry, the configuration actually counted, and its cost.</summary>
public sealed record Table1Row(Table1Entry Entry, ModelOptions Options, int Size, ModelCost Cost)
{
    /// <summary>Parameters in millions as the paper prints them (see <see cref="AffinityKdTable1.ParamsAsPrinted"/>).</summary>
    public decimal ParamsM => AffinityKdTable1.ParamsAsPrinted(Cost.Parameters);

    public bool ParamsMatch => ParamsM == Entry.Published.ParamsM;

    /// <summary>Relative distance of the paper-convention FLOPs to the published figure.</summary>
    public double GflopsRelativeError => Math.Abs(Cost.GflopsPaperConvention - (double)Entry.Published.Gflops) / (double)Entry.Published.Gflops;
}

/// <summary>Both reproductions of Table 1: the paper's configurations and the configuration training uses.</summary>
public sealed record Table1Result(IReadOnlyList<Table1Row> Paper, IReadOnlyList<Table1Row> Mri);

/// <summary>
/// Table 1 of "Adaptive Affinity-Based Generalization For MRI Imaging Segmentation Across Resource-Limited Settings"
/// (Loussaief, Ayad, Puig, Rashwan; /work/shared/papers/002): parameters and FLOPs of the five networks, regenerated
/// from the zoo's networks at 384×384.
/// </summary>
public static class AffinityKdTable1
{
    /// <summary>Image side of the count: the published FLOPs are twice ptflops' MAC count at 384×384 (see the notes).</summary>
    public const int Size = 384;

    /// <summary>
    /// Classes of the DeepLabV3+ row. The published 56.8 M fits one or two output classes (56,795,705 or 56,795,962
    /// parameters) and the FLOPs by 0.002% (the 1×1 classifier at 96×96); two is what training on prostate MRI uses, so the paper row and
    /// the MRI row count the same network.
    /// </summary>
    public const int DeepLabClasses = 2;

    /// <summary>The configuration used for training on single-slice prostate MRI: one channel in, background/gland out.</summary>
    public static readonly ModelOptions MriOptions = new(InChannels: 1, Classes: 2);

    /// <summary>
    /// The rows in the paper's order, with the figures exactly as printed in its Table 1 (the source of the published
    /// columns; nothing reproduced is taken from here). Input channels: the student networks match the published
    /// counts only with 3 (their public code hard-codes RGB input), the teachers only with 1.
    /// </summary>
    public static readonly IReadOnlyList<Table1Entry> Entries =
    [
        new("ESPNet", "espnet", new ModelOptions(3, 2), new PublishedCost(0.183m, 1.27m)),
        new("ENet", "enet", new ModelOptions(3, 2), new PublishedCost(0.353m, 2.2m)),
        new("ERFNet", "erfnet", new ModelOptions(3, 2), new PublishedCost(2.06m, 16.56m)),
        new("UNet++", "unetpp", new ModelOptions(1, 2), new PublishedCost(36.6m, 621.38m)),
        new("DeepLabV3+", "deeplabv3plus", new ModelOptions(1, DeepLabClasses), new PublishedCost(56.8m, 273.94m)),
    ];

    /// <summary>Largest accepted distance of a reproduced paper-convention FLOPs figure from the published one.</summary>
    public const double GflopsTolerance = 0.005;

    public const string CsvHeader = "method,in_channels,classes,input,params,params_m,gflops_paper_convention,gmacs_true,published_params_m,published_gflops";

    /// <summary>
    /// Counts every row in both configurations. A network with the same configuration in both tables (the teachers) is
    /// built and run once. <paramref name="progress"/> hears each network before it is counted.
    /// </summary>
    public static Table1Result Compute(Action<string>? progress = null)
    {
        var cache = new Dictionary<(string, ModelOptions), ModelCost>();
        ModelCost CostOf(string model, ModelOptions options)
        {
            if (cache.TryGetValue((model, options), out var known)) return known;
            progress?.Invoke($"{model} (in {options.InChannels}, classes {options.Classes}, {Size}x{Size})");
            using var net = ModelRegistry.Create(model, options);
            return cache[(model, options)] = ModelProfiler.Profile(net, Size, Size);
        }

        var paper = Entries.Select(e => new Table1Row(e, e.PaperOptions, Size, CostOf(e.Model, e.PaperOptions))).ToList();
        var mri = Entries.Select(e => new Table1Row(e, MriOptions, Size, CostOf(e.Model, MriOptions))).ToList();
        return new Table1Result(paper, mri);
    }

    /// <summary>
    /// Millions of parameters as the paper prints them. The five printed figures are ptflops' own parameter string
    /// (rounded to two decimals in k below a million, in M above: 183.64 k, 353.76 k, 2.06 M, 36.63 M, 56.8 M) cut to
    /// three significant figures in millions: 0.183, 0.353, 2.06, 36.6, 56.8. Neither plain rounding to three figures
    /// (0.184, 0.354) nor plain cutting (56.7 for 56,795,962) gives all five.
    /// </summary>
    public static decimal ParamsAsPrinted(long parameters)
    {
        if (parameters <= 0) return 0m;
        // ptflops' params_to_string: round(n / 10**6, 2) M, or round(n / 10**3, 2) k, or n.
        decimal millions = parameters >= 1_000_000 ? Math.Round(parameters / 1_000_000m, 2, MidpointRounding.ToEven)
            : parameters >= 1_000 ? Math.Round(parameters / 1_000m, 2, MidpointRounding.ToEven) / 1_000m
            : parameters / 1_000_000m;
        // Three significant figures: find the decimals that leave three digits before the cut.
        int decimals = 2;
        while (millions * Pow10(decimals) < 100m) decimals++;
        while (decimals > 0 && millions * Pow10(decimals) >= 1000m) decimals--;
        decimal digits = Math.Floor(millions * Pow10(decimals)); // 100..999
        // Built with an explicit scale so that it prints with its three figures (1.00, not 1).
        return new decimal((int)digits, 0, 0, isNegative: false, scale: (byte)decimals);
    }

    private static decimal Pow10(int n)
    {
        decimal p = 1m;
        for (int i = 0; i < n; i++) p *= 10m;
        return p;
    }

    public static string ToCsv(IReadOnlyList<Table1Row> rows)
    {
        var inv = CultureInfo.InvariantCulture;
        return CsvHeader + "\n" + Csv.Write(rows.Select(r => (IReadOnlyList<string?>)[
            r.Entry.Method, r.Options.InChannels.ToString(inv), r.Options.Classes.ToString(inv), $"{r.Size}x{r.Size}",
            r.Cost.Parameters.ToString(inv), r.ParamsM.ToString(inv), Fixed(r.Cost.GflopsPaperConvention), Fixed(r.Cost.GmacsTrue),
            r.Entry.Published.ParamsM.ToString(inv), r.Entry.Published.Gflops.ToString(inv)]));
    }

    /// <summary>Giga-figures with three decimals: finer than the paper's two, so the 0.5% check is visible in the file.</summary>
    private static string Fixed(double g) => g.ToString("F3", CultureInfo.InvariantCulture);

    public const string PaperCsv = "table1.csv";
    public const string MriCsv = "table1-mri.csv";
    public const string NotesFile = "table1.notes.md";

    /// <summary>Writes table1.csv, table1-mri.csv and table1.notes.md into <paramref name="folder"/>, each atomically.</summary>
    public static IReadOnlyList<string> Write(Table1Result result, string folder, string libtorchVersion)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        foreach (var (name, text) in new[]
                 {
                     (PaperCsv, ToCsv(result.Paper)),
                     (MriCsv, ToCsv(result.Mri)),
                     (NotesFile, Table1Notes.Render(result, libtorchVersion)),
                 })
        {
            var path = Path.Combine(folder, name);
            AtomicFile.WriteAllText(path, text);
            written.Add(path);
        }
        return written;
    }

    /// <summary>Rows that miss the publication (params not as printed, or FLOPs beyond the tolerance), described.</summary>
    public static IReadOnlyList<string> Mismatches(IReadOnlyList<Table1Row> paperRows)
    {
        var problems = new List<string>();
        foreach (var r in paperRows)
        {
            if (!r.ParamsMatch)
                problems.Add($"{r.Entry.Method}: params {r.Cost.Parameters:N0} print as {r.ParamsM} M, the paper prints {r.Entry.Published.ParamsM} M");
            if (r.GflopsRelativeError > GflopsTolerance)
                problems.Add(FormattableString.Invariant(
                    $"{r.Entry.Method}: {r.Cost.GflopsPaperConvention:F3} GFLOPs (paper convention) is {r.GflopsRelativeError:P2} from the published {r.Entry.Published.Gflops}"));
        }
        return problems;
    }
}

/// <summary>Writes a file under a temporary name in the same folder and renames it, so readers never see half a file.</summary>
internal static class AtomicFile
{
    public static void WriteAllText(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllText(temp, text, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
