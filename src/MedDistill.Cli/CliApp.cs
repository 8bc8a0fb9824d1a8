using System.CommandLine;
using MedDistill.Cli.Commands;

namespace MedDistill.Cli;

/// <summary>The <c>meddistill</c> command tree, built in one place so tests run exactly what users run.</summary>
public static class CliApp
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("MedDistill: reproducibility harness for knowledge distillation in medical image segmentation.");
        // One line per command; later commands (diff) are added the same way.
        root.Subcommands.Add(InfoCommand.Create());
        root.Subcommands.Add(DataCommand.Create(PhantomCommand.Create(), PreprocessCommand.Create()));
        root.Subcommands.Add(InspectCommand.Create());
        root.Subcommands.Add(ModelsCommand.Create());
        root.Subcommands.Add(PapersCommand.Create());
        root.Subcommands.Add(TablesCommand.Create());
        root.Subcommands.Add(RunCommands.Train());
        root.Subcommands.Add(RunCommands.Distill());
        root.Subcommands.Add(RunCommands.Evaluate());
        root.Subcommands.Add(RunCommands.Runs());
        root.Subcommands.Add(PipelineCommand.Create());
        root.Subcommands.Add(DiffCommand.Create());
        root.Subcommands.Add(MetricsCommand.Create());
        return root;
    }
}
