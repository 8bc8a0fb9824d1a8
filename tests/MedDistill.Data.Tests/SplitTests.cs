using MedDistill.Data.Splits;

namespace MedDistill.Data.Tests;

public class SplitTests
{
    // The real data set's case counts per site (datasets.md): RUNMC 30, BMC 30, I2CVB 19, UCL 13, BIDMC 12, HK 12.
    private static readonly (string Site, int Cases)[] Prostate = [("RUNMC", 30), ("BMC", 30), ("I2CVB", 19), ("UCL", 13), ("BIDMC", 12), ("HK", 12)];

    private static List<CaseRef> ProstateCases() =>
        Prostate.SelectMany(p => Enumerable.Range(0, p.Cases).Select(i => new CaseRef($"{p.Site}/Case{i:D2}", p.Site))).ToList();

    [TestCase("S1", "RUNMC", 30)]
    [TestCase("S2", "BMC", 30)]
    [TestCase("S3", "I2CVB", 19)]
    [TestCase("S4", "UCL", 13)]
    [TestCase("S5", "BIDMC", 12)]
    [TestCase("S6", "HK", 12)]
    [TestCase("hk", "HK", 12)]
    public void LeaveOneSiteOut_TestsOnTheTargetSite_TrainsOnTheOthers(string target, string site, int count)
    {
        var cases = ProstateCases();
        var split = Splitter.LeaveOneSiteOut(cases, target);
        Assert.That(split[DataSplit.Test], Has.Count.EqualTo(count));
        Assert.That(split[DataSplit.Test], Has.All.StartsWith(site + "/"));
        Assert.That(split[DataSplit.Train], Has.Count.EqualTo(116 - count));
        Assert.That(split[DataSplit.Train].Any(id => id.StartsWith(site + "/")), Is.False);
        Assert.That(split[DataSplit.Validation], Is.Empty);
        Assert.That(split[DataSplit.Train].Concat(split[DataSplit.Test]).Order(), Is.EqualTo(cases.Select(c => c.Id).Order()), "union = all cases");
        Assert.That(split.Name, Does.Contain(site));
    }

    [Test]
    public void WithinSiteValidation_IsDisjoint_Seeded_AndTakesTheFractionOfEachTrainingSite()
    {
        var cases = ProstateCases();
        var split = Splitter.LeaveOneSiteOut(cases, "S6", validationFraction: 0.2, seed: 42);
        var roles = new[] { DataSplit.Train, DataSplit.Validation, DataSplit.Test };
        var all = roles.SelectMany(r => split[r]).ToList();
        Assert.That(all, Is.Unique, "no case in two roles");
        Assert.That(all.Order(), Is.EqualTo(cases.Select(c => c.Id).Order()), "union = all cases");
        // round(0.2 × n) per training site: RUNMC 6, BMC 6, I2CVB 4, UCL 3, BIDMC 2.
        var perSite = split[DataSplit.Validation].GroupBy(id => id.Split('/')[0]).ToDictionary(g => g.Key, g => g.Count());
        Assert.That(perSite, Is.EquivalentTo(new Dictionary<string, int> { ["RUNMC"] = 6, ["BMC"] = 6, ["I2CVB"] = 4, ["UCL"] = 3, ["BIDMC"] = 2 }));
        Assert.That(split.Seed, Is.EqualTo(42UL));

        var again = Splitter.LeaveOneSiteOut(cases, "S6", validationFraction: 0.2, seed: 42);
        Assert.That(again[DataSplit.Validation], Is.EqualTo(split[DataSplit.Validation]));
        var other = Splitter.LeaveOneSiteOut(cases, "S6", validationFraction: 0.2, seed: 43);
        Assert.That(other[DataSplit.Validation], Is.Not.EqualTo(split[DataSplit.Validation]));
    }

    [Test]
    public void SiteMapping_IsConfigurable()
    {
        var mapping = SiteMapping.Parse("HK, BIDMC, UCL, I2CVB, BMC, RUNMC");
        Assert.That(mapping.Resolve("S1"), Is.EqualTo("HK"));
        Assert.That(mapping.ColumnOf("RUNMC"), Is.EqualTo("S6"));
        var split = Splitter.LeaveOneSiteOut(ProstateCases(), "S1", mapping);
        Assert.That(split[DataSplit.Test], Has.All.StartsWith("HK/"));
        Assert.That(SiteMapping.Default.Sites, Is.EqualTo(new[] { "RUNMC", "BMC", "I2CVB", "UCL", "BIDMC", "HK" }));
        Assert.Throws<ArgumentException>(() => SiteMapping.Default.Resolve("S7"));
        var e = Assert.Throws<ArgumentException>(() => SiteMapping.Default.Resolve("MSKCC"));
        Assert.That(e!.Message, Does.Contain("MSKCC"));
    }

    [Test]
    public void Split_RoundTripsThroughJson_AndRejectsACaseInTwoRoles()
    {
        var split = Splitter.LeaveOneSiteOut(ProstateCases(), "S3", validationFraction: 0.1, seed: 7);
        var json = split.ToJson();
        Assert.That(json, Does.Contain("\"test\"").And.Contain("I2CVB/Case00"));
        var back = DataSplit.FromJson(json);
        Assert.That(back.Name, Is.EqualTo(split.Name));
        Assert.That(back.Seed, Is.EqualTo(7UL));
        foreach (var role in new[] { DataSplit.Train, DataSplit.Validation, DataSplit.Test })
            Assert.That(back[role], Is.EqualTo(split[role]));

        var bad = json.Replace("\"test\": [", "\"test\": [\n    \"RUNMC/Case00\",");
        var e = Assert.Throws<InvalidDataException>(() => DataSplit.FromJson(bad));
        Assert.That(e!.Message, Does.Contain("RUNMC/Case00"));
    }

    [Test]
    public void Synapse_TransUNetLists_AreExactlyThePublishedOnes()
    {
        var split = Splitter.SynapseTransUnet();
        // datasets.md: train_npz cases and test_vol_h5 cases of the TransUNet release.
        var train = "0005 0006 0007 0009 0010 0021 0023 0024 0026 0027 0028 0030 0031 0033 0034 0037 0039 0040".Split(' ').Select(n => "case" + n);
        var test = "0001 0002 0003 0004 0008 0022 0025 0029 0032 0035 0036 0038".Split(' ').Select(n => "case" + n);
        Assert.That(split[DataSplit.Train], Is.EqualTo(train));
        Assert.That(split[DataSplit.Test], Is.EqualTo(test));
        // Together: the 30 labelled BTCV training scans, img0001–0010 and img0021–0040, each once.
        var labelled = Enumerable.Range(1, 10).Concat(Enumerable.Range(21, 20)).Select(i => $"case{i:D4}");
        Assert.That(split[DataSplit.Train].Concat(split[DataSplit.Test]).Order(), Is.EqualTo(labelled));

        var e = Assert.Throws<ArgumentException>(() => Splitter.SynapseTransUnet(labelled.Where(id => id != "case0022")));
        Assert.That(e!.Message, Does.Contain("case0022"));
    }

    [Test]
    public void LeaveOneSiteOut_OnThePhantom_SplitsByCaseNeverBySlice()
    {
        var cases = PhantomTestData.Phantom.Cases.Select(c => new CaseRef($"{c.Site}/{c.Case}", c.Site)).ToList();
        foreach (var site in SiteMapping.Default.Sites)
        {
            var split = Splitter.LeaveOneSiteOut(cases, site, validationFraction: 0.25, seed: 1);
            var train = new Loading.SliceDataset(PhantomTestData.CacheDir, split[DataSplit.Train]);
            var test = new Loading.SliceDataset(PhantomTestData.CacheDir, split[DataSplit.Test]);
            Assert.That(train.Samples.Select(s => s.CaseId).Intersect(test.Samples.Select(s => s.CaseId)), Is.Empty);
            Assert.That(test.Samples.Select(s => s.Site).Distinct(), Is.EqualTo(new[] { site }));
            Assert.That(split[DataSplit.Validation], Has.Count.EqualTo(5), "one of four cases from each of five training sites");
        }
    }
}
