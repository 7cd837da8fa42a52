; Inno Setup 6 script for the Windows installer; build_installer.py runs it as
;   ISCC /DAppVersion=X /DSourceDir=dist\DukahubTrainer /DOutputDir=dist /DOutputName=... this.iss
; It installs the one-folder bundle per user (no admin rights), adds a Start-menu
; entry (and optionally a desktop one) for the windowed DukahubTrainer.exe, and an
; uninstaller. The owner's data stays under %LOCALAPPDATA%\Dukahub\DukahubTrainer.
; NOT BUILT OR TESTED HERE: only the Linux bundle was built and tested (see README).

#ifndef AppVersion
  #error Pass /DAppVersion=<version>
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\DukahubTrainer"
#endif
#ifndef OutputDir
  #define OutputDir "..\..\dist"
#endif
#ifndef OutputName
  #define OutputName "DukahubTrainer-" + AppVersion + "-windows-x86_64-setup"
#endif

[Setup]
AppId={{6C0E6F8E-3B8B-4B1E-9D6E-2B7A5D1F0C11}
AppName=Dukahub Model Trainer
AppVersion={#AppVersion}
AppPublisher=Dukahub
DefaultDirName={localappdata}\Programs\Dukahub Model Trainer
DefaultGroupName=Dukahub Model Trainer
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#OutputDir}
OutputBaseFilename={#OutputName}
SetupIconFile=..\..\resources\icons\dukahub-trainer.ico
UninstallDisplayIcon={app}\DukahubTrainer.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Dukahub Model Trainer"; Filename: "{app}\DukahubTrainer.exe"
Name: "{autodesktop}\Dukahub Model Trainer"; Filename: "{app}\DukahubTrainer.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\DukahubTrainer.exe"; Description: "{cm:LaunchProgram,Dukahub Model Trainer}"; Flags: nowait postinstall skipifsilent
