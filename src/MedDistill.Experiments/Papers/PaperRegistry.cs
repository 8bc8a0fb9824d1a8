namespace MedDistill.Experiments.Papers;

/// <summary>The papers the harness reproduces, by id; one line per paper.</summary>
public static class PaperRegistry
{
    public static IReadOnlyList<IPaper> All { get; } = [new AffinityKdPaper(), new AcwSkdPaper(), new GkdPaper()];

    public static IReadOnlyList<string> Ids => All.Select(p => p.Id).ToList();

    public static IPaper Get(string id) =>
        All.FirstOrDefault(p => string.Equals(p.Id, id?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"paper: '{id}' is not known; known: {string.Join(", ", Ids)}");

    /// <summary>The profile <paramref name="name"/> of <paramref name="paper"/>, or an error listing its profiles.</summary>
    public static ExperimentProfile Profile(this IPaper paper, string name) =>
        paper.Profiles.FirstOrDefault(p => p.Name == name)
        ?? throw new ArgumentException($"profile: '{name}' is not a profile of {paper.Id}; known: {string.Join(", ", paper.Profiles.Select(p => p.Name))}");
}
