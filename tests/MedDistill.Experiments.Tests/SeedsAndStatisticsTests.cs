using MedDistill.Experiments.Papers;
using MedDistill.Experiments.Tables;
using MedDistill.Models;

namespace MedDistill.Experiments.Tests;

/// <summary>The plan side of <c>--seeds</c>, the baselines of the paired tests, and the compare CSV's extra columns.</summary>
public class SeedsAndStatisticsTests
{
    private static IReadOnlyList<PlannedRun> TinyPlan(params string[] tables) =>
        AffinityKdExperiment.Plan(PaperTablesSnapshotTests.Tiny, "recipe", ModelRegistry.Names, tables.Length == 0 ? null : tables);

    [Test]
    public void ExtraSeedsCopyTheEnetRunsWithTheNextSeeds()
    {
        var plan = TinyPlan();
        var seeds = AffinityKdSeeds.Plan(plan, 3);
        Assert.That(seeds.Extra.Select(r => r.Key), Is.EquivalentTo(new[]
        {
            "student/enet/S2@seed1", "student/enet/S2@seed2",
            "distill/enet/deeplabv3plus/lm+kmm+aam/S2@seed1", "distill/enet/deeplabv3plus/lm+kmm+aam/S2@seed2",
            "distill/enet/unetpp/lm+kmm+aam/S2@seed1", "distill/enet/unetpp/lm+kmm+aam/S2@seed2",
        }));
        var byKey = plan.ToDictionary(r => r.Key);
        foreach (var extra in seeds.Extra)
        {
            var original = byKey[extra.Key[..extra.Key.IndexOf('@')]];
            Assert.That(extra.Spec.Seed, Is.EqualTo(long.Parse(extra.Key[(extra.Key.IndexOf("@seed", StringComparison.Ordinal) + 5)..])));
            Assert.That(extra.Id, Is.Not.EqualTo(original.Id), "another seed is another run");
            Assert.That(extra.Spec.Data, Is.EqualTo(original.Spec.Data), "the split does not move with the run seed");
            Assert.That((extra.TeacherKey, extra.Spec.Teacher), Is.EqualTo((original.TeacherKey, original.Spec.Teacher)), "students learn from the seed-0 teacher");
            Assert.That(extra.Cells, Is.Empty, "extra seeds fill no table cell");
        }
        // Every cell those runs fill is repeated: Table 2's three ENet rows, Table 3's "ours", Table 4's plain and full rows.
        Assert.That(seeds.Cells.Select(c => $"{c.Cell.Table}:{c.Cell.Row}"), Is.EquivalentTo(new[]
        {
            "table2:ENet w/o", "table2:ENet w/ T1", "table2:ENet w/ T2", "table3:Student: ENet (ours)", "table4:Student: ENet", "table4:+AAM + KMM + LM",
        }));
        Assert.That(seeds.Cells.All(c => c.Runs.Select(r => r.Seed).SequenceEqual([0L, 1L, 2L])));
    }

    [Test]
    public void SeedSelections()
    {
        var plan = TinyPlan();
        Assert.That(AffinityKdSeeds.Plan(plan, 1).Extra, Is.Empty);
        Assert.That(AffinityKdSeeds.Plan(plan, 2, "students").Extra, Has.Count.EqualTo(9));
        Assert.That(AffinityKdSeeds.Plan(plan, 2, "all").Extra, Has.Count.EqualTo(plan.Count));
        Assert.That(AffinityKdSeeds.Plan(plan, 2, "all").Extra.Take(2).All(r => r.IsTeacher), "reseeded teachers come first");
        Assert.That(AffinityKdSeeds.Plan(plan, 2, "ENet w/o|+LM").Extra.Select(r => r.Key),
            Is.EquivalentTo(new[] { "student/enet/S2@seed1", "distill/enet/deeplabv3plus/lm/S2@seed1" }));
        Assert.Throws<ArgumentException>(() => AffinityKdSeeds.Plan(plan, 2, "ENet w/o|No such row"));
        Assert.Throws<ArgumentException>(() => AffinityKdSeeds.Plan(plan, 0));
    }

    [Test]
    public void TableThreeAlonePlansItsBaselineWithoutACell()
    {
        var plan = TinyPlan("table3");
        var baseline = plan.Single(r => r.Key == "student/enet/S2");
        Assert.That(baseline.Cells, Is.Empty);
        Assert.That(plan.Where(r => r.Cells.Any()).Select(r => AffinityKdStatistics.BaselineKey(r.Key)).Distinct(),
            Is.EqualTo(new[] { "student/enet/S2" }), "both distillation rows (the teacher fills no Table 3 cell) test against ENet w/o");
    }

    [TestCase("distill/espnet-emkd/unetpp/lm+kmm+aam/S5", "student/espnet-emkd/S5")]
    [TestCase("distill/enet/deeplabv3plus/emkd/S1", "student/enet/S1")]
    [TestCase("student/enet/S1", null)]
    [TestCase("teacher/unetpp/S1", null)]
    public void BaselineKeys(string key, string? expected) => Assert.That(AffinityKdStatistics.BaselineKey(key), Is.EqualTo(expected));

    [Test]
    public void CompareLinesCarryStdCountPAndBaseline()
    {
        var published = ResultTable.Parse("model,S1,mean\nT,0.9,\nX w/o,0.6,\nX w/ T1,0.8,\n", "published");
        var reproduced = ResultTable.Parse("model,S1,mean\nT,0.7000,0.7000\nX w/o,0.5000,0.5000\nX w/ T1,0.5500,0.5500\n", "reproduced");
        var stats = new List<CellStats>
        {
            new("t", "T", "S1", 0.7, 0.1234567, 12, null, 0, null),
            new("t", "X w/ T1", "S1", 0.55, 0.05, 12, 0.0048828125, 1, "X w/o"),
            new("t", "X w/ T1", "mean", 0.55, null, 1, null, 0, "X w/o"),
        };
        var lines = PaperTables.Compare(reproduced, published, stats).Split('\n');
        Assert.That(lines[0], Is.EqualTo("row,column,published,reproduced,delta,std,n,p_value,vs"));
        Assert.That(lines[1], Is.EqualTo("T,S1,0.9,0.7000,-0.2000,0.1235,12,,"));
        Assert.That(lines[3], Is.EqualTo("X w/o,S1,0.6,0.5000,-0.1000,,,,"), "no statistics given for the cell");
        Assert.That(lines[5], Is.EqualTo("X w/ T1,S1,0.8,0.5500,-0.2500,0.0500,12,0.004883,X w/o"));
        Assert.That(lines[6], Is.EqualTo("X w/ T1,mean,,0.5500,,,1,,X w/o"));
        Assert.That(AffinityKdStatistics.Mark(stats[1]), Is.EqualTo("↑**"));
        Assert.That(AffinityKdStatistics.Mark(stats[1] with { PValue = 0.03, Direction = -1 }), Is.EqualTo("↓*"));
        Assert.That(AffinityKdStatistics.Mark(stats[1] with { PValue = 0.05 }), Is.Empty);
    }
}
