using System.Text.Json.Nodes;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

public class SensitivityStudyTests
{
    private static readonly ExperimentProfile Tiny = PaperTablesSnapshotTests.Tiny;

    /// <summary>The spec's JSON without the label, as a flat list of "path=value" leaves.</summary>
    private static HashSet<string> Leaves(RunSpec spec)
    {
        var leaves = new HashSet<string>(StringComparer.Ordinal);
        void Walk(JsonNode? node, string path)
        {
            if (node is JsonObject o) foreach (var (k, v) in o) Walk(v, path + "/" + k);
            else leaves.Add(path + "=" + (node?.ToJsonString() ?? "null"));
        }
        Walk(JsonNode.Parse((spec with { Label = null }).ToJson()), "");
        return leaves;
    }

    [Test]
    public void EveryVariantChangesExactlyOneChoiceOfTheAsWrittenRun_WhichIsTable2s()
    {
        var plan = AffinityKdSensitivity.Plan(Tiny, "recipe", ModelRegistry.Names, full: true);
        var table2 = AffinityKdExperiment.Plan(Tiny, "recipe", ModelRegistry.Names, ["table2"]);
        foreach (var (tag, _, _) in AffinityKdExperiment.Teachers)
        {
            var reference = plan.Single(r => r.Cells.Any(c => c.Row == AffinityKdSensitivity.ReferenceRow(tag)));
            Assert.That(reference.Id, Is.EqualTo(table2.Single(r => r.Cells.Any(c => c.Row == $"ENet w/ {tag}")).Id), "shared with Table 2");
            var variants = plan.Where(r => r.Key.StartsWith($"sensitivity/enet/{tag}/", StringComparison.Ordinal)).ToList();
            Assert.That(variants, Has.Count.EqualTo(AffinityKdSensitivity.Variants(true).Count));
            foreach (var v in variants)
            {
                Assert.That(v.TeacherKey, Is.EqualTo(reference.TeacherKey), v.Key);
                var changed = Leaves(v.Spec).Except(Leaves(reference.Spec)).ToList();
                // One choice: one leaf, or one option group (λ ×0.1 scales the three weights, the KMM layer both taps,
                // a loss both of its weights) — always under a single section.
                Assert.That(changed, Is.Not.Empty, v.Key);
                Assert.That(changed.Select(c => c.Split('/')[1]).Distinct().Count(), Is.EqualTo(1), $"{v.Key}: {string.Join(" ", changed)}");
            }
        }
        Assert.That(plan.Select(r => r.Id).Distinct().Count(), Is.EqualTo(plan.Count), "every run its own id");
        Assert.That(AffinityKdSensitivity.Variants(false).Select(v => v.Choice).Distinct().Count(), Is.GreaterThanOrEqualTo(8),
            "the default study covers the open choices: AAM margin, neighbourhood, W_ij, LM direction and temperature, KMM normalisation, λ, segmentation loss");
    }

    [Test]
    public void TheStudyRunsAndWritesItsTable_WithTheReferenceAndBaselineRows()
    {
        var store = ExperimentFixture.NewStore();
        var plan = AffinityKdSensitivity.PlanTables(Tiny, ExperimentFixture.TinyRecipe.Hash(), ModelRegistry.Names, ["sensitivity"], full: false);
        Assert.That(plan.Take(2).All(r => r.IsTeacher));
        foreach (var run in plan)
            new Trainer(PreparedRun.Prepare(run.Spec, store, ExperimentFixture.DataDir), new TrainerOptions { Workers = 0 }).Train();
        var folder = Directory.CreateTempSubdirectory("md-sens-").FullName;
        try
        {
            var (files, missing) = AffinityKdSensitivityTables.Write(Tiny, plan, store, full: false, folder);
            Assert.That(missing, Is.Zero);
            var lines = File.ReadAllLines(Path.Combine(folder, "sensitivity.csv"));
            Assert.That(lines[0], Is.EqualTo("teacher,choice,variant,S2,mean,delta_vs_as_written,delta_vs_wo,targets_above_wo"));
            Assert.That(lines, Has.Length.EqualTo(1 + 1 + 2 * (1 + AffinityKdSensitivity.Default.Count)));
            Assert.That(lines[1], Does.StartWith("-,baseline,ENet w/o,"));
            Assert.That(lines[2], Does.StartWith("T1 DeepLabV3+,reference,as written,"));
            // The reference row holds the very value of Table 2's cell.
            var t2 = AffinityKdTables.Build(Tiny, AffinityKdExperiment.Plan(Tiny, ExperimentFixture.TinyRecipe.Hash(), ModelRegistry.Names, ["table2"]),
                store, PublishedFolder(), ["table2"]).Single().Reproduced;
            Assert.That(lines[2].Split(',')[3], Is.EqualTo(t2.Cell("ENet w/ T1", "S2")));
            Assert.That(File.ReadAllText(Path.Combine(folder, "figures", "sensitivity.svg")), Does.Contain("<svg").And.Contain("T1 DeepLabV3+"));
            Assert.That(File.ReadAllText(Path.Combine(folder, "sensitivity.notes.md")), Does.Contain("aam-margin").And.Contain("eq. 4"));
        }
        finally { Directory.Delete(folder, true); }
    }

    private static string PublishedFolder()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "paper-tables", "affinity-kd", "published");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("paper-tables/affinity-kd/published not found above the test directory");
    }
}
