/** The API's paths, fixed by the original design (API.md). */
export const ROUTES = {
  register: '/register',
  login: '/login',
  logout: '/logout',
  me: '/me',
  health: '/health',
  myDrive: '/cloud/my-drive/',
  verify: '/cloud/my-drive/verify',
  drivePermit: '/cloud/drive-permit/',
  driveShare: '/cloud/drive-share/',
  uploads: '/cloud/uploads/',
  audit: '/cloud/audit/',
} as const;

export const TOKEN_COOKIE = 'token';
