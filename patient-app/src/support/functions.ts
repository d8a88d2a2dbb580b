// The support API and page (`/api/support/...`): importing each module registers its function.
import '../functions/supportErasePatient';
import '../functions/supportExportWrite';
import '../functions/supportGetWrite';
import '../functions/supportListWrites';
import '../functions/supportPage';
import '../functions/supportPurgeWrite';
import '../functions/supportPurgeWrites';
import '../functions/supportRestartWrite';
import '../functions/supportTerminateWrite';
