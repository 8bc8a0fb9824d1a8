using System.CommandLine;
using MedDistill.Cli;
using MedDistill.Cli.Commands;

var root = new RootCommand("MedDistill: reproducibility harness for knowledge distillation in medical image segmentation.");
// One line per command; later commands (data, train, distill, evaluate, diff) are added the same way.
root.Subcommands.Add(InfoCommand.Create());
root.Subcommands.Add(ModelsCommand.Create());
root.Subcommands.Add(TablesCommand.Create());

return CliHost.Run(root, args);
