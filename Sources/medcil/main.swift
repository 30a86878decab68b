import Commands

MedCIL.main()
