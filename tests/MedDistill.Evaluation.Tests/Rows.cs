namespace MedDistill.Evaluation.Tests;

internal static class Rows
{
    public static CaseMetrics Row(string site, string caseId, double dice, double hd95, int classLabel = 1,
        double asd = 1, double hd = 5, long prediction = 100, long reference = 90, long intersection = 80) => new()
    {
        CaseId = caseId, Site = site, ClassLabel = classLabel,
        Dice = dice, Hd95 = hd95, Asd = asd, AssdMedPy = asd, Hd = hd,
        PredictionVoxels = prediction, ReferenceVoxels = reference, IntersectionVoxels = intersection,
    };
}
