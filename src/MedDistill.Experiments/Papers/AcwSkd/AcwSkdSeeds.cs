using System.Globalization;
using System.Text;
using MedDistill.Evaluation;
using MedDistill.Experiments.Evaluation;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Tables;

namespace MedDistill.Experiments.Papers;

/// <summary>
/// <c>--seeds N</c> for ACW-SKD: the chosen rows' runs repeated with seeds seed+1 … seed+N−1 (Affinity-KD's
/// <see cref="AffinityKdSeeds.Plan"/>), and per table <c>&lt;table&gt;.seeds.csv</c> with each row's mean Dice over its
/// seeds, their sample std and the values. Default rows: the plain student and ACW-SKD, the pair the claim is about.
/// </summary>
public static class AcwSkdSeeds
{
    public const string DefaultSelection = "ResNet18-UNet (student)|ACW-SKD (ours)";

    public static SeedPlan Plan(IReadOnlyList<PlannedRun> plan, int seeds, string? selection) =>
        AffinityKdSeeds.Plan(plan, seeds, selection ?? DefaultSelection);

    /// <summary>The seeds tables; returns the files written and how many seed runs have not finished.</summary>
    public static (IReadOnlyList<string> Files, int Missing) Write(SeedPlan seeds, RunStore store, string folder)
    {
        var files = new List<string>();
        int missing = 0;
        foreach (var table in seeds.Cells.Select(c => c.Cell.Table).Distinct())
        {
            var csv = new StringBuilder("row,column,seeds,mean,std,values\n");
            foreach (var cell in seeds.Cells.Where(c => c.Cell.Table == table))
            {
                var values = new List<double>();
                foreach (var (_, run) in cell.Runs)
                {
                    var f = store.Folder(run.Id);
                    if (f.IsFinished && MetricsReport.Read(f.MetricsPath).MeanDice() is var d && !double.IsNaN(d)) values.Add(d);
                    else missing++;
                }
                var s = MetricStats.Of(values);
                string F(double? v) => v is double x ? ResultTable.Format(x, AcwSkdTables.Decimals) : "";
                var row = cell.Cell.Row.IndexOfAny([',', '"']) < 0 ? cell.Cell.Row : "\"" + cell.Cell.Row.Replace("\"", "\"\"") + "\"";
                csv.Append(CultureInfo.InvariantCulture, $"{row},{AcwSkdExperiment.MeanDice},{values.Count},{F(s.Mean)},{F(s.StandardDeviation)},{string.Join(' ', values.Select(v => F(v)))}\n");
            }
            Directory.CreateDirectory(folder);
            var path = Path.Combine(folder, table + ".seeds.csv");
            AtomicFile.WriteAllText(path, csv.ToString());
            files.Add(path);
        }
        return (files, missing);
    }
}
