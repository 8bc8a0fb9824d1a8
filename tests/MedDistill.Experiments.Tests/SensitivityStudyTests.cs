using System.Text.Json;
using System.Text.Json.Nodes;
using MedDistill.Distillation.AffinityKd;
using MedDistill.Distillation.Losses;
using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Runs;
using MedDistill.Experiments.Training;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

public class SensitivityStudyTests
{
    private static readonly ExperimentProfile Tiny = PaperTablesSnapshotTests.Tiny;

    /// <summary>The spec's JSON without the label, as a flat list of "path=value" leaves (an array is one leaf).</summary>
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

    /// <summary>
    /// The option group a changed spec path belongs to: a module's option object (affinity, logits, kernelMatrix), the λ
    /// weights, or the segmentation loss. Anything else is its own path, so an unexpected edit shows up as a second group.
    /// </summary>
    private static string Group(string leaf)
    {
        var path = leaf[..leaf.IndexOf('=')];
        var parts = path.Split('/');
        if (parts.Length >= 4 && parts[1] == "method" && parts[2] == "options")
            return parts[3].EndsWith("Weight", StringComparison.Ordinal) ? "lambda" : parts[3];
        return parts.Length >= 2 && parts[1] == "loss" ? "loss" : path;
    }

    /// <summary>Which option group each choice of the study may touch.</summary>
    private static string ExpectedGroup(string choice) => choice switch
    {
        _ when choice.StartsWith("aam-", StringComparison.Ordinal) => "affinity",
        _ when choice.StartsWith("lm-", StringComparison.Ordinal) => "logits",
        _ when choice.StartsWith("kmm-", StringComparison.Ordinal) => "kernelMatrix",
        "lambda" => "lambda",
        "seg-loss" => "loss",
        _ => throw new AssertionException($"choice '{choice}' has no expected option group; add it here"),
    };

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
                Assert.That(v.Spec.Seed, Is.EqualTo(reference.Spec.Seed), v.Key);
                var variant = AffinityKdSensitivity.Variants(true).Single(x => v.Key == $"sensitivity/enet/{tag}/{x.Key}/S2");
                // Both ways: an edit that drops a reference leaf (a replaced loss object) counts as a change too.
                var before = Leaves(reference.Spec);
                var after = Leaves(v.Spec);
                var changed = after.Except(before).Concat(before.Except(after)).ToList();
                Assert.That(changed, Is.Not.Empty, v.Key);
                // One choice: one leaf, or one option group (λ ×0.1 scales the three weights, the KMM layer both taps,
                // a loss both of its weights), and the group the choice names.
                Assert.That(changed.Select(Group).Distinct(), Is.EquivalentTo(new[] { ExpectedGroup(variant.Choice) }),
                    $"{v.Key}: {string.Join(" ", changed)}");
            }
        }
        Assert.That(plan.Select(r => r.Id).Distinct().Count(), Is.EqualTo(plan.Count), "every run its own id");
        Assert.That(plan.Select(r => r.Key).Distinct().Count(), Is.EqualTo(plan.Count), "every run its own key");
        Assert.That(AffinityKdSensitivity.Variants(false).Select(v => v.Choice).Distinct().Count(), Is.GreaterThanOrEqualTo(8),
            "the default study covers the open choices: AAM margin, neighbourhood, W_ij, LM direction and temperature, KMM normalisation, λ, segmentation loss");
    }

    [Test]
    public void VariantNamesAreDistinct_AndTheDefaultGraphStaysBounded()
    {
        var all = AffinityKdSensitivity.Variants(true);
        Assert.That(all.Select(v => v.Key).Distinct().Count(), Is.EqualTo(all.Count), "keys name run folders and rows");
        Assert.That(all.Select(v => (v.MethodOptions?.ToJsonString(), v.Loss?.ToJsonString())).Distinct().Count(), Is.EqualTo(all.Count),
            "no two variants make the same edit");
        Assert.That(all.All(v => (v.MethodOptions is null) != (v.Loss is null)), "each variant edits either the method or the loss");
        Assert.That(all.All(v => v.Variant != AffinityKdSensitivity.Reference && v.PaperSays.Length > 0));
        Assert.That(all.All(v => v.Choice.All(c => char.IsAsciiLetterLower(c) || c == '-')), "choices name chart files");

        // The cost, stated: every default variant trains once per teacher and target (phantom profile: 2 × 6).
        var phantom = AffinityKdExperiment.Profile("phantom");
        int extra(bool full) => AffinityKdSensitivity.Plan(phantom, "recipe", ModelRegistry.Names, full).Count(r => r.Key.StartsWith("sensitivity/", StringComparison.Ordinal));
        Assert.That(extra(false), Is.EqualTo(AffinityKdSensitivity.Default.Count * 2 * phantom.Targets.Count).And.LessThanOrEqualTo(110));
        Assert.That(extra(true), Is.EqualTo(all.Count * 2 * phantom.Targets.Count));
    }

    /// <summary>What the trainer will build from a spec: the bound Affinity-KD options and segmentation loss, as JSON.</summary>
    private static (string Method, string Loss) Bound(RunSpec spec) =>
        (JsonSerializer.Serialize(Objective.BindMethodOptions(spec.Method).AffinityKd), JsonSerializer.Serialize(Objective.BindSegmentationLoss(spec.Loss)));

    [Test]
    public void TheReferenceIsTheDefaults_AndEveryVariantBindsToSomethingElse()
    {
        var plan = AffinityKdSensitivity.Plan(Tiny, "recipe", ModelRegistry.Names, full: true);
        var reference = plan.Single(r => r.Cells.Any(c => c.Row == AffinityKdSensitivity.ReferenceRow("T1"))).Spec;
        var asWritten = Bound(reference);
        Assert.That(asWritten.Method, Is.EqualTo(JsonSerializer.Serialize(new AffinityKdOptions())), "as written = the options' defaults");
        Assert.That(asWritten.Loss, Is.EqualTo(JsonSerializer.Serialize(new SegmentationLossOptions())));
        foreach (var v in AffinityKdSensitivity.Variants(true))
        {
            // Binding rejects unknown names, so a misspelt option fails here rather than silently training the reference.
            var bound = Bound(AffinityKdSensitivity.Apply(reference, v));
            Assert.That(bound, Is.Not.EqualTo(asWritten), v.Key);
        }
        var decoder = Objective.BindMethodOptions(AffinityKdSensitivity.Apply(reference, AffinityKdSensitivity.Extra.Single(v => v.Choice == "kmm-layer")).Method).AffinityKd!;
        Assert.That((decoder.KernelMatrix.StudentTap, decoder.KernelMatrix.TeacherTap), Is.EqualTo((SegmentationModel.DecoderTap, SegmentationModel.DecoderTap)));
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
            Assert.That(lines[0], Is.EqualTo("teacher,choice,variant,is_reference,S2,mean,delta_vs_as_written,delta_vs_wo,targets_above_wo,S2_std,S2_n"));
            Assert.That(lines, Has.Length.EqualTo(1 + 1 + 2 * (1 + AffinityKdSensitivity.Default.Count)));
            Assert.That(lines[1], Does.StartWith("-,baseline,ENet w/o,false,"));
            Assert.That(lines[2], Does.StartWith("T1 DeepLabV3+,reference,as written,true,"));
            Assert.That(lines.Count(l => l.Split(',')[3] == "true"), Is.EqualTo(2), "one reference row per teacher");
            var cases = int.Parse(lines[2].Split(',')[^1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.That(cases, Is.EqualTo(ExperimentFixture.TinyPhantom.CasesPerSite), "n is the target site's case count");
            Assert.That(lines.Skip(1).All(l => l.Split(',')[^1] == lines[2].Split(',')[^1]), "every cell is tested on the same cases");
            // The reference row holds the very value of Table 2's cell.
            var t2 = AffinityKdTables.Build(Tiny, AffinityKdExperiment.Plan(Tiny, ExperimentFixture.TinyRecipe.Hash(), ModelRegistry.Names, ["table2"]),
                store, PaperTablesSnapshotTests.PublishedFolder(), ["table2"]).Single().Reproduced;
            Assert.That(lines[2].Split(',')[4], Is.EqualTo(t2.Cell("ENet w/ T1", "S2")));
            Assert.That(File.ReadAllText(Path.Combine(folder, "figures", "sensitivity.svg")), Does.Contain("<svg").And.Contain("T1 DeepLabV3+"));
            Assert.That(File.ReadAllText(Path.Combine(folder, "sensitivity.notes.md")), Does.Contain("aam-margin").And.Contain("eq. 4"));
            foreach (var choice in AffinityKdSensitivity.Default.Select(v => v.Choice).Distinct())
            {
                var figure = Path.Combine(folder, "figures", AffinityKdSensitivityTables.ChoiceFigure(choice));
                Assert.That(files, Does.Contain(figure));
                Assert.That(File.ReadAllText(figure), Does.Contain("<svg").And.Contain("T2 UNet++").And.Contain("T1 as written").And.Contain("ENet w/o KD"), choice);
            }
        }
        finally { Directory.Delete(folder, true); }
    }
}
